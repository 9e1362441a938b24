package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"golang.org/x/oauth2"
	googleoauth "golang.org/x/oauth2/google"
)

// Scope is the OAuth2 scope the access token is asked for.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// refreshBefore is how long before its expiry an access token is replaced.
const refreshBefore = 5 * time.Minute

// errNoADC means that there are no Application Default Credentials at all,
// as opposed to credentials that are there but broken.
var errNoADC = errors.New("none found")

// adc is a set of Application Default Credentials.
type adc struct {
	source string             // what they are, for messages
	tokens oauth2.TokenSource // cached, replaced refreshBefore their expiry
}

// adcFinder finds the Application Default Credentials, or returns an
// error wrapping errNoADC when there are none. Token requests go through
// client.
type adcFinder func(ctx context.Context, client *http.Client) (*adc, error)

// defaultADC looks where golang.org/x/oauth2/google looks: the file named
// by GOOGLE_APPLICATION_CREDENTIALS (a service account key, a workload
// identity federation configuration…), gcloud's application default
// credentials file, then the metadata server on Google Cloud. A broken
// file named by GOOGLE_APPLICATION_CREDENTIALS is an error, not a reason
// to look elsewhere.
//
// The token source outlives the call, so it keeps a context that is never
// cancelled; client bounds each token request. A token about to expire is
// replaced with one from the credentials found again, since their own
// source would hand back the cached one until its last seconds.
func defaultADC(ctx context.Context, client *http.Client) (*adc, error) {
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, client)
	creds, err := googleoauth.FindDefaultCredentials(ctx, Scope)
	if err != nil {
		if os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") == "" {
			return nil, fmt.Errorf("%w: %v", errNoADC, err)
		}
		return nil, err
	}
	first := creds.TokenSource
	fresh := tokenFunc(func() (*oauth2.Token, error) {
		if first != nil { // the credentials just found
			ts := first
			first = nil
			return ts.Token()
		}
		again, err := googleoauth.FindDefaultCredentials(ctx, Scope)
		if err != nil {
			return nil, err
		}
		return again.TokenSource.Token()
	})
	return &adc{source: describe(creds.JSON), tokens: oauth2.ReuseTokenSourceWithExpiry(nil, fresh, refreshBefore)}, nil
}

// tokenFunc is a function as an oauth2.TokenSource. ReuseTokenSource calls
// it under its lock.
type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

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
