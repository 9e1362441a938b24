package retry

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server answers with the statuses in order, then 200 with body "ok".
func server(t *testing.T, header http.Header, codes ...int) (url string, calls *atomic.Int32) {
	t.Helper()
	calls = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		if n <= len(codes) {
			w.WriteHeader(codes[n-1])
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAVAILABLE"}]}`)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, calls
}

func TestTransportRetriesAndLogs(t *testing.T) {
	t.Parallel()
	url, calls := server(t, nil, 503, 500)
	log := &logLines{}
	resp, err := (&http.Client{Transport: fast.Transport(nil, log.logf)}).Post(url+"/token", "text/plain", strings.NewReader("grant"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" || calls.Load() != 3 || len(log.lines) != 2 {
		t.Errorf("%d %q after %d calls, logged %q; want ok after 3", resp.StatusCode, body, calls.Load(), log.lines)
	}
	if len(log.lines) > 0 && !strings.HasPrefix(log.lines[0], "POST "+url+"/token: HTTP 503 Service Unavailable; retrying in ") {
		t.Errorf("logged %q", log.lines[0])
	}
}

// TestTransportHandsOnTheLastAnswer: when the tries are spent, the
// registry's own answer reaches the caller, to read its error.
func TestTransportHandsOnTheLastAnswer(t *testing.T) {
	t.Parallel()
	url, calls := server(t, nil, 503, 503, 503, 503)
	resp, err := (&http.Client{Transport: fast.Transport(nil, nil)}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "UNAVAILABLE") || calls.Load() != int32(fast.Attempts) {
		t.Errorf("%d %q after %d calls; want the 503 after %d", resp.StatusCode, body, calls.Load(), fast.Attempts)
	}
}

// TestTransportSendsAnUnreplayableBodyOnce.
func TestTransportSendsAnUnreplayableBodyOnce(t *testing.T) {
	t.Parallel()
	url, calls := server(t, nil, 503)
	req, _ := http.NewRequest(http.MethodPut, url, io.NopCloser(strings.NewReader("stream")))
	resp, err := fast.Transport(nil, nil).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || calls.Load() != 1 {
		t.Errorf("%d after %d calls; want the 503 at once", resp.StatusCode, calls.Load())
	}
}

// TestTransportFailsAtOnceOnALongRetryAfter: a server asking to wait
// longer than the policy allows gets no further try, and the caller an
// error that says so.
func TestTransportFailsAtOnceOnALongRetryAfter(t *testing.T) {
	t.Parallel()
	url, calls := server(t, http.Header{"Retry-After": {"999999"}}, 429, 429, 429)
	start := time.Now()
	_, err := (&http.Client{Transport: Default.Transport(nil, nil)}).Head(url + "/v2/r/manifests/t")
	var tl *TooLongError
	if !errors.As(err, &tl) || calls.Load() != 1 || time.Since(start) > time.Second {
		t.Fatalf("error %v after %d calls in %s; want one call and a TooLongError", err, calls.Load(), time.Since(start))
	}
	for _, want := range []string{"HTTP 429", "asks to wait 277h46m39s", "Retry-After", "2m0s in all", "not retried"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
