package ecr_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ecr"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
)

func TestRegionFirstMatchWins(t *testing.T) {
	profile := "[default]\nregion = ap-south-1\n\n[profile ci]\nregion = sa-east-1\n"
	cases := []struct {
		name    string
		option  string
		env     map[string]string
		profile bool
		want    string
		warn    bool
	}{
		{name: "option over everything", option: "eu-central-1", env: map[string]string{"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-east-2", "AWS_PROFILE": "ci"}, profile: true, want: "eu-central-1"},
		{name: "AWS_REGION over AWS_DEFAULT_REGION and profile", env: map[string]string{"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-east-2", "AWS_PROFILE": "ci"}, profile: true, want: "us-west-2"},
		{name: "AWS_DEFAULT_REGION over profile", env: map[string]string{"AWS_DEFAULT_REGION": "us-east-2", "AWS_PROFILE": "ci"}, profile: true, want: "us-east-2"},
		{name: "named profile", env: map[string]string{"AWS_PROFILE": "ci"}, profile: true, want: "sa-east-1"},
		{name: "default profile", profile: true, want: "ap-south-1"},
		{name: "fallback with a warning", want: ecr.FallbackRegion, warn: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ecrtest.ClearAWSEnv(t)
			t.Setenv("AWS_ACCESS_KEY_ID", ecrtest.DefaultAccessKeyID)
			t.Setenv("AWS_SECRET_ACCESS_KEY", ecrtest.DefaultSecretAccessKey)
			if tc.profile {
				f := filepath.Join(t.TempDir(), "config")
				if err := os.WriteFile(f, []byte(profile), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_CONFIG_FILE", f)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c := config(nil, "cache/app")
			c.Region = tc.option
			c.ECRAccountID = "111122223333"
			r, log := provider(t, c)
			repo, err := r.Repository(context.Background())
			if want := "111122223333.dkr.ecr." + tc.want + ".amazonaws.com/cache/app"; err != nil || repo != want {
				t.Errorf("repository %q, %v; want %s", repo, err, want)
			}
			warned := strings.Contains(log.warnings(), "using eu-west-1")
			if warned != tc.warn {
				t.Errorf("warned %v, want %v: %q", warned, tc.warn, log.warnings())
			}
		})
	}
}

func TestChinaRegionsUseAmazonawsComCn(t *testing.T) {
	for region, want := range map[string]string{
		"cn-north-1":     "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn",
		"cn-northwest-1": "111122223333.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
		"eu-west-1":      "111122223333.dkr.ecr.eu-west-1.amazonaws.com",
		"us-gov-west-1":  "111122223333.dkr.ecr.us-gov-west-1.amazonaws.com",
	} {
		if got := ecr.RegistryHost("111122223333", region); got != want {
			t.Errorf("RegistryHost(%s) = %s, want %s", region, got, want)
		}
	}
	s := serve(t)
	c := config(nil, "cache/app")
	c.Region = "cn-north-1"
	r, _ := provider(t, c)
	repo, err := r.Repository(context.Background())
	if want := "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/cache/app"; err != nil || repo != want {
		t.Errorf("repository %q, %v; want %s", repo, err, want)
	}
	if got := calls(s); got != "GetCallerIdentity" {
		t.Errorf("calls %q, want one GetCallerIdentity", got)
	}
}
