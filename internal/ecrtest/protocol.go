package ecrtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const (
	jsonContentType = "application/x-amz-json-1.1"
	targetPrefix    = "AmazonEC2ContainerRegistry_V20150921."
)

// apiError is an AWS error: its code (the JSON __type) and message.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ServeHTTP answers ECR (JSON 1.1, X-Amz-Target) and STS (query) calls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Amzn-RequestId", "00000000-0000-4000-8000-000000000000")
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		s.serveECR(w, r, target, body)
		return
	}
	s.serveSTS(w, r, body)
}

// ecrActions are the implemented ECR actions, decoding their own input.
var ecrActions = map[string]func(s *Server, in []byte) (any, *apiError){
	"GetAuthorizationToken": (*Server).getAuthorizationToken,
	"DescribeRepositories":  (*Server).describeRepositories,
	"CreateRepository":      (*Server).createRepository,
	"TagResource":           (*Server).tagResource,
	"ListTagsForResource":   (*Server).listTagsForResource,
	"GetLifecyclePolicy":    (*Server).getLifecyclePolicy,
	"PutLifecyclePolicy":    (*Server).putLifecyclePolicy,
	"BatchGetImage":         (*Server).batchGetImage,
	"DescribeImages":        (*Server).describeImages,
}

func (s *Server) serveECR(w http.ResponseWriter, r *http.Request, target string, body []byte) {
	action, ok := strings.CutPrefix(target, targetPrefix)
	s.record(action)
	handler := ecrActions[action]
	var out any
	var aerr *apiError
	switch {
	case !ok || handler == nil:
		aerr = errorf("UnknownOperationException", "unknown operation %s", target)
	case r.Header.Get("Content-Type") != jsonContentType:
		aerr = errorf("SerializationException", "Content-Type must be %s", jsonContentType)
	default:
		aerr = s.checkSignature(r, "ecr")
	}
	if aerr == nil {
		aerr = s.injected(action)
	}
	if aerr == nil {
		out, aerr = handler(s, body)
	}
	w.Header().Set("Content-Type", jsonContentType)
	if aerr != nil {
		w.WriteHeader(aerr.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": aerr.Code, "message": aerr.Message})
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) record(action string) {
	s.mu.Lock()
	s.calls = append(s.calls, action)
	s.mu.Unlock()
}

// checkSignature accepts only SigV4 requests signed with the server's
// access key for service.
func (s *Server) checkSignature(r *http.Request, service string) *apiError {
	h := r.Header.Get("Authorization")
	cred, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 Credential=")
	if !ok {
		return &apiError{Status: http.StatusForbidden, Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"}
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/") // key/date/region/service/aws4_request
	if len(parts) != 5 || parts[0] != s.AccessKeyID {
		return errorf("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if parts[3] != service {
		return errorf("InvalidSignatureException", "Credential should be scoped to correct service: '%s'.", service)
	}
	return nil
}

// injected is the fault set for action, as AWS would word it.
func (s *Server) injected(action string) *apiError {
	if aerr := s.transient(action); aerr != nil {
		return aerr
	}
	code := s.fault(action)
	switch code {
	case "":
		return nil
	case "AccessDeniedException", "AccessDenied":
		return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(
			"User: arn:aws:iam::%s:user/ci is not authorized to perform: %s:%s because no identity-based policy allows the %s:%s action",
			s.AccountID, service(action), action, service(action), action)}
	case "ExpiredTokenException", "ExpiredToken":
		return errorf(code, "The security token included in the request is expired")
	}
	return errorf(code, "injected %s", code)
}

func service(action string) string {
	if action == "GetCallerIdentity" {
		return "sts"
	}
	return "ecr"
}
