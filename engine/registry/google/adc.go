package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/oauth2"
	googleoauth "golang.org/x/oauth2/google"
)

// Scope is the OAuth2 scope the access token is asked for.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// errNoADC means that there are no Application Default Credentials at all,
// as opposed to credentials that are there but broken.
var errNoADC = errors.New("none found")

// adc is a set of Application Default Credentials.
type adc struct {
	source string // what they are, for messages
	tokens oauth2.TokenSource
}

// adcFinder finds the Application Default Credentials, or returns an
// error wrapping errNoADC when there are none.
type adcFinder func(ctx context.Context) (*adc, error)

// defaultADC looks where golang.org/x/oauth2/google looks: the file named
// by GOOGLE_APPLICATION_CREDENTIALS (a service account key, a workload
// identity federation configuration…), gcloud's application default
// credentials file, then the metadata server on Google Cloud. A broken
// file named by GOOGLE_APPLICATION_CREDENTIALS is an error, not a reason
// to look elsewhere. The token source keeps ctx for its requests.
func defaultADC(ctx context.Context) (*adc, error) {
	creds, err := googleoauth.FindDefaultCredentials(ctx, Scope)
	if err != nil {
		if os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") == "" {
			return nil, fmt.Errorf("%w: %v", errNoADC, err)
		}
		return nil, err
	}
	return &adc{source: describe(creds.JSON), tokens: creds.TokenSource}, nil
}

// describe names the kind of credentials, without secrets.
func describe(raw []byte) string {
	if len(raw) == 0 {
		return "Application Default Credentials (the metadata server's service account)"
	}
	var f struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
	}
	_ = json.Unmarshal(raw, &f)
	switch f.Type {
	case "service_account":
		return "Application Default Credentials (service account " + f.ClientEmail + ")"
	case "authorized_user":
		return "Application Default Credentials (gcloud user login)"
	case "external_account":
		return "Application Default Credentials (workload identity federation)"
	case "impersonated_service_account":
		return "Application Default Credentials (impersonated service account)"
	}
	return "Application Default Credentials (" + f.Type + ")"
}
