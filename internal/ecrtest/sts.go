package ecrtest

import (
	"encoding/xml"
	"net/http"
	"net/url"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// serveSTS answers the query protocol: a form POST with Action=… and an
// XML answer. Only GetCallerIdentity is implemented.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	action := form.Get("Action")
	if err != nil || action == "" {
		action = "(no action)"
	}
	s.record(action)
	w.Header().Set("Content-Type", "text/xml")
	aerr := s.checkSignature(r, "sts")
	if aerr != nil && aerr.Code == "UnrecognizedClientException" {
		aerr = &apiError{Status: http.StatusForbidden, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
	}
	if aerr == nil {
		aerr = s.injected(action)
	}
	if aerr == nil && action != "GetCallerIdentity" {
		aerr = &apiError{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "Could not find operation " + action + " for version " + form.Get("Version")}
	}
	if aerr != nil {
		if aerr.Code == "AccessDenied" || aerr.Code == "ExpiredToken" || aerr.Code == "ExpiredTokenException" {
			aerr.Status = http.StatusForbidden
		}
		type errorBody struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		w.WriteHeader(aerr.Status)
		_ = xml.NewEncoder(w).Encode(struct {
			XMLName   xml.Name  `xml:"ErrorResponse"`
			Xmlns     string    `xml:"xmlns,attr"`
			Error     errorBody `xml:"Error"`
			RequestID string    `xml:"RequestId"`
		}{Xmlns: stsNamespace, Error: errorBody{"Sender", aerr.Code, aerr.Message}, RequestID: "00000000-0000-4000-8000-000000000000"})
		return
	}
	type result struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Result    result   `xml:"GetCallerIdentityResult"`
		RequestID string   `xml:"ResponseMetadata>RequestId"`
	}{
		Xmlns:     stsNamespace,
		Result:    result{Arn: "arn:aws:iam::" + s.AccountID + ":user/ci", UserID: s.AccessKeyID, Account: s.AccountID},
		RequestID: "00000000-0000-4000-8000-000000000000",
	})
}
