package oci

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// faulty is a reverse proxy on loopback in front of the registry at host.
// Requests for which fail returns true get fault: "503", "429" (with
// Retry-After: 1), "reset" (the connection is closed with no answer),
// "cut" (the answer's body stops in the middle) or "delay" (the answer
// comes after a second). It returns its host.
func faulty(t *testing.T, host, fault string, fail func(*http.Request) bool) string {
	t.Helper()
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fail(r) {
			proxy.ServeHTTP(w, r)
			return
		}
		switch fault {
		case "delay":
			time.Sleep(time.Second)
			proxy.ServeHTTP(w, r)
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "429":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case "reset":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
					_ = tc.SetLinger(0) // RST, not FIN
				}
				conn.Close()
			}
		case "cut":
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body[:len(body)/2])
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
