package oci

import (
	"regexp"
	"strings"
)

var hostPort = regexp.MustCompile(`^[A-Za-z0-9.-]+(?::[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]+)?$`)

// ValidHost reports whether h is a registry host[:port], an IPv6 address
// in brackets included.
func ValidHost(h string) bool { return hostPort.MatchString(h) }

// StripScheme drops a leading https:// or http:// and a trailing slash
// from a registry host or repository as users write it.
func StripScheme(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://"), "/")
}
