package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// StatusRecorder is a ResponseWriter that keeps the status it was given.
type StatusRecorder struct {
	http.ResponseWriter
	Status int // 200 until WriteHeader
}

// NewStatusRecorder wraps w.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
}

// WriteHeader keeps code and writes it.
func (s *StatusRecorder) WriteHeader(code int) {
	s.Status = code
	s.ResponseWriter.WriteHeader(code)
}

// RequestLog keeps "METHOD /path status" of every request a handler serves.
// The zero value is ready.
type RequestLog struct {
	mu    sync.Mutex
	lines []string
}

// Handler serves h and logs each request.
func (l *RequestLog) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := NewStatusRecorder(w)
		h.ServeHTTP(rec, r)
		l.mu.Lock()
		l.lines = append(l.lines, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, rec.Status))
		l.mu.Unlock()
	})
}

// Requests returns the logged requests but the API version checks (GET
// /v2/) that clients send to learn the registry's auth scheme: what is
// left are the requests that read or write images (and any others).
func (l *RequestLog) Requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if !strings.HasPrefix(line, "GET /v2/ ") {
			out = append(out, line)
		}
	}
	return out
}

// Reset forgets the requests so far.
func (l *RequestLog) Reset() {
	l.mu.Lock()
	l.lines = nil
	l.mu.Unlock()
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
