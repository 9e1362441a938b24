package oci

import "strings"

// StripScheme drops a leading https:// or http:// and a trailing slash
// from a registry host or repository as users write it.
func StripScheme(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://"), "/")
}
