package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// Rule applies Fault to requests with Method whose URL path matches Path.
// Rules are tried in order; the first that matches and has uses left
// applies, and a request no rule takes is forwarded untouched.
type Rule struct {
	Method string // "" matches any method
	Path   string // regular expression on the URL path; "" matches any
	Times  int    // the first Times matching requests; 0 means every one
	Fault  Fault
}

type rule struct {
	Rule
	path *regexp.Regexp
	used int
}

func (r Rule) compile() (*rule, error) {
	if r.Fault.apply == nil {
		return nil, fmt.Errorf("faultproxy rule %s %q has no Fault", r.Method, r.Path)
	}
	re, err := regexp.Compile(r.Path)
	if err != nil {
		return nil, fmt.Errorf("faultproxy rule path: %w", err)
	}
	return &rule{Rule: r, path: re}, nil
}

func (r *rule) matches(req *http.Request) bool {
	return (r.Method == "" || r.Method == req.Method) && r.path.MatchString(req.URL.Path)
}

// Fault is what the proxy does to a request instead of forwarding it as is.
type Fault struct {
	name  string
	apply func(w http.ResponseWriter, r *http.Request, upstream http.Handler)
}

// Status answers code with a registry-style error body, without asking upstream.
func Status(code int) Fault {
	return Fault{name: "injected", apply: func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		writeError(w, code)
	}}
}

// TooManyRequests answers 429 with Retry-After set to retryAfter (seconds or an HTTP date).
func TooManyRequests(retryAfter string) Fault {
	return Fault{name: "retry-after=" + retryAfter, apply: func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusTooManyRequests)
	}}
}

// Reset resets the connection (TCP RST) without answering.
func Reset() Fault {
	return Fault{name: "reset", apply: func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		reset(w)
	}}
}

// Delay holds the request for d (less if the client gives up), then forwards it.
func Delay(d time.Duration) Fault {
	return Fault{name: "delay " + d.String(), apply: func(w http.ResponseWriter, r *http.Request, upstream http.Handler) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			upstream.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}}
}

// CutResponse forwards the request but closes the connection after n bytes
// of the response body: the client reads an unexpected EOF mid-body (a
// manifest or blob GET). A shorter body passes whole.
func CutResponse(n int64) Fault {
	return Fault{name: "cut response after " + strconv.FormatInt(n, 10) + " bytes", apply: func(w http.ResponseWriter, r *http.Request, upstream http.Handler) {
		upstream.ServeHTTP(&cutWriter{ResponseWriter: w, left: n}, r)
	}}
}

// CutRequest reads at most n bytes of the request body, then resets the
// connection: an upload (blob PATCH or PUT) broken in the middle.
func CutRequest(n int64) Fault {
	return Fault{name: "cut request after " + strconv.FormatInt(n, 10) + " bytes", apply: func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		_, _ = io.CopyN(io.Discard, r.Body, n)
		reset(w)
	}}
}

func writeError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"fault injected: %d %s"}]}`+"\n", code, http.StatusText(code))
}

// reset hijacks the connection and closes it with SO_LINGER 0, so that the
// peer gets a TCP RST.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server closes the connection
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

var errCut = errors.New("response cut by faultproxy")

// cutWriter passes the first left bytes of the body, then closes the connection.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if int64(len(b)) < c.left {
		n, err := c.ResponseWriter.Write(b)
		c.left -= int64(n)
		return n, err
	}
	n, _ := c.ResponseWriter.Write(b[:c.left])
	c.left = 0
	rc := http.NewResponseController(c.ResponseWriter)
	_ = rc.Flush()
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
	}
	return n, errCut
}

func (c *cutWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
