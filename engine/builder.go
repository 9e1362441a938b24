package engine

import (
	"maps"
	"net"
	"strings"
)

// Args maps the build args by name, as both builders take them. A bare
// NAME maps to nil: the Dockerfile's default, or the daemon's rules for an
// unset arg.
func (spec *BuildSpec) Args() map[string]*string {
	args := make(map[string]*string, len(spec.BuildArgs))
	for _, a := range spec.BuildArgs {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			args[name] = nil
			continue
		}
		args[name] = &value
	}
	return args
}

// ImageLabels are the labels the image gets: additional-build-args'
// --label values, then the cache's own, which win.
func (spec *BuildSpec) ImageLabels() map[string]string {
	labels := make(map[string]string, len(spec.Flags.Labels)+len(spec.Labels))
	maps.Copy(labels, spec.Flags.Labels)
	maps.Copy(labels, spec.Labels)
	return labels
}

// Loopback reports whether host[:port], or the host of an image reference
// host[:port]/path[:tag], is localhost or a loopback address: plain HTTP
// is allowed there, as the Docker daemon allows it, and nowhere else.
func Loopback(host string) bool {
	host, _, _ = strings.Cut(host, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
