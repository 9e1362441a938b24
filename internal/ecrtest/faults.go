package ecrtest

import (
	"net/http"
	"sync"
	"time"
)

// Fail makes every later call of action (an ECR action such as
// CreateRepository, or GetCallerIdentity; "*" for all) answer the error
// code, as AWS would: AccessDeniedException, ExpiredTokenException, …
func (s *Server) Fail(action, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = code
}

// Deny refuses action for lack of an IAM permission.
func (s *Server) Deny(action string) {
	code := "AccessDeniedException"
	if action == "GetCallerIdentity" {
		code = "AccessDenied"
	}
	s.Fail(action, code)
}

// ExpireCredentials makes every call answer that the caller's AWS
// security token has expired.
func (s *Server) ExpireCredentials() { s.Fail("*", "ExpiredTokenException") }

// InvalidToken makes GetAuthorizationToken hand out tokens the registry
// rejects, as an expired ECR token is.
func (s *Server) InvalidToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badToken = true
}

// Flaky makes the next n calls of action ("*" for all) fail as AWS does
// when it is overloaded, with code: InternalFailure (HTTP 500),
// ServiceUnavailable (HTTP 503) or ThrottlingException (HTTP 400). The
// SDK retries these; the call after them succeeds.
func (s *Server) Flaky(action string, n int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flaky[action] = flaky{n: n, code: code}
}

type flaky struct {
	n    int
	code string
}

// transient takes one of the failures Flaky set for action, if any is left.
func (s *Server) transient(action string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{action, "*"} {
		if f := s.flaky[key]; f.n > 0 {
			f.n--
			s.flaky[key] = f
			status := map[string]int{"InternalFailure": http.StatusInternalServerError, "ServiceUnavailable": http.StatusServiceUnavailable}[f.code]
			if status == 0 {
				status = http.StatusBadRequest
			}
			return &apiError{Status: status, Code: f.code, Message: "injected " + f.code}
		}
	}
	return nil
}

// Heal removes every fault.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string]string{}
	s.flaky = map[string]flaky{}
	s.badToken = false
	s.hold = nil
}

// HoldCreate makes CreateRepository calls wait until n of them have
// arrived (at most 30 s), so that concurrent jobs really race.
func (s *Server) HoldCreate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = &barrier{n: n, open: make(chan struct{})}
}

// fault returns the error code set for action, if any.
func (s *Server) fault(action string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := s.faults[action]; code != "" {
		return code
	}
	return s.faults["*"]
}

type barrier struct {
	mu   sync.Mutex
	n    int
	open chan struct{}
}

// wait blocks until n callers have arrived or the deadline passes.
func (b *barrier) wait() {
	b.mu.Lock()
	b.n--
	if b.n == 0 {
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
	case <-time.After(30 * time.Second):
	}
}
