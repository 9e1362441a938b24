package main

import (
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ecr"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// ecrJob is a CI job running the command, as a subprocess, against the
// ECR test server and its registry, with nothing of the machine's AWS
// setup: static credentials, empty shared files, no instance metadata.
type ecrJob struct {
	srv     *ecrtest.Server
	dir     string            // the checkout: Dockerfile and busybox
	name    string            // the repository, unique to the test
	options map[string]string // DOCKER_ECR_CACHE_<OPTION> values
	aws     []string          // the AWS environment
}

// newECRJob prepares a checkout whose Dockerfile is unique to the test, so
// that images left on the shared daemon by other runs never count.
func newECRJob(tb testing.TB, srv *ecrtest.Server) *ecrJob {
	tb.Helper()
	dockerHost := testenv.Docker(tb)
	dir := tb.TempDir()
	testenv.Busybox(tb, dir)
	nonce := fmt.Sprintf("%d", time.Now().UnixNano())
	dockerfile := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo " + nonce + " > /marker\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		tb.Fatal(err)
	}
	name := "e2e/" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(tb.Name(), "-")) + "-" + nonce
	j := &ecrJob{
		srv:  srv,
		dir:  dir,
		name: name,
		options: map[string]string{
			"REGISTRY_PROVIDER": "ecr",
			"REGISTRY_HOSTNAME": srv.RegistryHost,
			"ECR_NAME":          name,
		},
		aws: srv.Env(tb),
	}
	home := tb.TempDir()
	j.aws = append(j.aws, "HOME="+home, "DOCKER_HOST="+dockerHost, "PATH="+os.Getenv("PATH"))
	tb.Cleanup(func() { ecrRemoveImages(srv.RegistryHost + "/" + name) })
	return j
}

// ecrRemoveImages untags every local image of repo, leaving the daemon as
// the test found it.
func ecrRemoveImages(repo string) {
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
	if err != nil {
		return
	}
	refs := strings.Fields(string(out))
	if len(refs) > 0 {
		_ = exec.Command("docker", append([]string{"image", "rm", "-f"}, refs...)...).Run()
	}
}

// localImages lists the daemon's tags of the job's repository.
func (j *ecrJob) localImages(tb testing.TB) []string {
	out, err := exec.Command("docker", "images", "--format", "{{.Tag}}", j.srv.RegistryHost+"/"+j.name).Output()
	if err != nil {
		tb.Fatalf("docker images: %v", err)
	}
	return strings.Fields(string(out))
}

// without drops AWS variables, for example the credentials.
func (j *ecrJob) without(names ...string) {
	var kept []string
	for _, kv := range j.aws {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			kept = append(kept, kv)
		}
	}
	j.aws = kept
}

// ecrRun is one run of the command.
type ecrRun struct{ testenv.Result }

func (j *ecrJob) run(tb testing.TB) ecrRun {
	tb.Helper()
	env := append([]string(nil), j.aws...)
	for k, v := range j.options {
		env = append(env, "DOCKER_ECR_CACHE_"+k+"="+v)
	}
	return ecrRun{testenv.RunCommand(tb, j.dir, env)}
}

// expect checks the exit code, and that no log shows the registry password
// or the token that holds it.
func (r ecrRun) expect(tb testing.TB, srv *ecrtest.Server, code int) {
	tb.Helper()
	if r.Code != code {
		tb.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.Code, code, r.Stdout, r.Stderr)
	}
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + srv.Password))
	for _, secret := range []string{srv.Password, token} {
		if strings.Contains(r.Stdout+r.Stderr, secret) {
			tb.Errorf("the output shows the ECR token:\n%s\n%s", r.Stdout, r.Stderr)
		}
	}
}

func (r ecrRun) says(tb testing.TB, wants ...string) {
	tb.Helper()
	for _, want := range wants {
		if !strings.Contains(r.Stderr, want) {
			tb.Errorf("stderr does not say %q:\n%s", want, r.Stderr)
		}
	}
}

func ecrCalls(srv *ecrtest.Server) string { return strings.Join(srv.Calls(), " ") }

// ecrWrites lists the registry requests that write: pushes.
func ecrWrites(srv *ecrtest.Server) []string {
	var w []string
	for _, req := range srv.Registry.Requests() {
		if m, _, _ := strings.Cut(req, " "); m != "GET" && m != "HEAD" {
			w = append(w, req)
		}
	}
	return w
}

// ecrNoCalls checks that nothing asked ECR, STS or the registry.
func ecrNoCalls(tb testing.TB, srv *ecrtest.Server) {
	tb.Helper()
	if got := ecrCalls(srv); got != "" {
		tb.Errorf("ECR calls %q, want none", got)
	}
	if got := srv.Registry.Requests(); len(got) != 0 {
		tb.Errorf("registry requests %q, want none", got)
	}
}

func TestECRMissCreatesThenHitCostsTwoRequests(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	job.options["ECR_TAGS"] = `{"CostCenter":"Platform","team":"ci"}`
	job.options["MAX_AGE_DAYS"] = "7"

	miss := job.run(t)
	miss.expect(t, srv, 0)
	image := srv.RegistryHost + "/" + job.name
	if miss.Outputs["CACHE_HIT"] != "false" || miss.Outputs["IMAGE"] != image || miss.Outputs["IMAGE_REF"] != image+":"+miss.Outputs["TAG"] ||
		!regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(miss.Outputs["DIGEST"]) || miss.Outputs["KEY"] != miss.Outputs["TAG"] || miss.Outputs["TAG"] == "" {
		t.Fatalf("outputs %v", miss.Outputs)
	}
	miss.says(t, "created repository "+job.name+" with tags CostCenter=Platform, team=ci", "images expire 7 days after their push", "RUN")
	if got, want := ecrCalls(srv), "GetAuthorizationToken DescribeRepositories CreateRepository PutLifecyclePolicy"; got != want {
		t.Errorf("ECR calls on a miss %q, want %q", got, want)
	}
	repo, ok := srv.Repository(srv.AccountID, job.name)
	if !ok || repo.Tags["CostCenter"] != "Platform" || repo.Tags["team"] != "ci" || len(repo.Tags) != 2 {
		t.Errorf("repository %+v, want tags CostCenter and team as written", repo)
	}
	if repo.Policy != ecr.LifecyclePolicy(7) {
		t.Errorf("lifecycle policy %s", repo.Policy)
	}
	pushed := strings.Join(ecrWrites(srv), "\n")
	for _, tag := range []string{miss.Outputs["TAG"], "latest"} {
		if !strings.Contains(pushed, "PUT /v2/"+job.name+"/manifests/"+tag+" 201") {
			t.Errorf("%s was not pushed: %s", tag, pushed)
		}
	}

	srv.Reset()
	hit := job.run(t)
	hit.expect(t, srv, 0)
	if hit.Outputs["CACHE_HIT"] != "true" || hit.Outputs["IMAGE_REF"] != miss.Outputs["IMAGE_REF"] || hit.Outputs["DIGEST"] != miss.Outputs["DIGEST"] {
		t.Errorf("hit outputs %v, miss outputs %v", hit.Outputs, miss.Outputs)
	}
	hit.says(t, "already on this machine")
	if got := ecrCalls(srv); got != "GetAuthorizationToken" {
		t.Errorf("ECR calls on a hit %q, want only GetAuthorizationToken (no STS: registry-hostname is set)", got)
	}
	want := "HEAD /v2/" + job.name + "/manifests/" + miss.Outputs["TAG"] + " 200"
	if got := srv.Registry.Requests(); len(got) != 1 || got[0] != want {
		t.Errorf("registry requests on a hit %q, want exactly %q", got, want)
	}
}

func TestECRConcurrentMissesRaceOnCreate(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	srv.HoldCreate(2)
	job := newECRJob(t, srv)
	var wg sync.WaitGroup
	runs := make([]ecrRun, 2)
	for i := range runs {
		agent := *job // two agents: each its own build lock
		agent.options = maps.Clone(job.options)
		agent.options["LOCK_DIR"] = t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = agent.run(t)
		}()
	}
	wg.Wait()
	for _, r := range runs {
		r.expect(t, srv, 0)
		if r.Outputs["CACHE_HIT"] != "false" {
			t.Errorf("outputs %v, want a miss", r.Outputs)
		}
	}
	if n := srv.Count("CreateRepository"); n != 2 {
		t.Errorf("%d CreateRepository calls, want 2 racing: %s", n, ecrCalls(srv))
	}
	both := runs[0].Stderr + runs[1].Stderr
	if !strings.Contains(both, "created repository "+job.name) || !strings.Contains(both, "was just created by another job") {
		t.Errorf("one job should create the repository and the other find it created:\n%s", both)
	}
}

func TestECRCrossAccountRegistry(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	job.options["ECR_ACCOUNT_ID"] = "210987654321"
	job.run(t).expect(t, srv, 0)
	if _, ok := srv.Repository("210987654321", job.name); !ok {
		t.Error("the repository was not created in account 210987654321")
	}
	if _, ok := srv.Repository(srv.AccountID, job.name); ok {
		t.Error("the repository was created in the caller's account")
	}
	srv.Reset()
	job.run(t).expect(t, srv, 0)
	if got := ecrCalls(srv); got != "GetAuthorizationToken" {
		t.Errorf("ECR calls on a cross-account hit %q, want only GetAuthorizationToken", got)
	}
}

func TestECRLifecycleDeniedOnlyWarns(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	srv.Deny("PutLifecyclePolicy")
	job := newECRJob(t, srv)
	r := job.run(t)
	r.expect(t, srv, 0)
	r.says(t, "warning: setting the lifecycle policy of "+job.name, "ecr:PutLifecyclePolicy was denied")
	if r.Outputs["CACHE_HIT"] != "false" {
		t.Errorf("outputs %v", r.Outputs)
	}
}

// ECR is the default provider: this job does not name one.
func TestECRInvalidTokenIsAnAuthErrorAndNoBuild(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	srv.InvalidToken()
	job := newECRJob(t, srv)
	delete(job.options, "REGISTRY_PROVIDER")
	r := job.run(t)
	r.expect(t, srv, 1)
	r.says(t, "ECR refused the authorization token", "HTTP 401", "check the ECR token")
	if strings.Contains(r.Stderr, "Building") || strings.Contains(r.Stderr, "cache miss:") {
		t.Errorf("a rejected token led to a build:\n%s", r.Stderr)
	}
	if got := ecrCalls(srv); got != "GetAuthorizationToken" {
		t.Errorf("ECR calls %q", got)
	}
	if w := ecrWrites(srv); len(w) != 0 {
		t.Errorf("registry writes %q", w)
	}
	if imgs := job.localImages(t); len(imgs) != 0 {
		t.Errorf("images were built: %v", imgs)
	}
}

func TestECRMissingCredentialsNameTheFixes(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	job.without("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
	r := job.run(t)
	r.expect(t, srv, 1)
	r.says(t, "no AWS credentials found", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "web identity (OIDC)", "instance or container role")
	ecrNoCalls(t, srv)
}

func TestECRInvalidNameExits2BeforeAnyCall(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	job.options["ECR_NAME"] = "Build_Cache/App"
	job.options["ECR_ACCOUNT_ID"] = "1234"
	r := job.run(t)
	r.expect(t, srv, 2)
	r.says(t, `ecr-name "Build_Cache/App" is not a valid ECR repository name`, `ecr-account-id "1234" is not an AWS account ID`)
	ecrNoCalls(t, srv)
}

func TestECRCreateDeniedFailsAndPushesNothing(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	srv.Deny("CreateRepository")
	job := newECRJob(t, srv)
	r := job.run(t)
	r.expect(t, srv, 1)
	r.says(t, "creating repository "+job.name, "ecr:CreateRepository was denied", "AccessDeniedException")
	if strings.Contains(r.Stderr, "Building") {
		t.Errorf("it built although the repository could not be created:\n%s", r.Stderr)
	}
	if got, want := ecrCalls(srv), "GetAuthorizationToken DescribeRepositories CreateRepository"; got != want {
		t.Errorf("ECR calls %q, want %q", got, want)
	}
	for _, req := range srv.Registry.Requests() {
		if strings.HasPrefix(req, "PUT ") || strings.HasPrefix(req, "POST ") {
			t.Errorf("registry request %q: nothing should be pushed", req)
		}
	}
}

// BenchmarkECRHit is the whole process on a hit with the image local: the
// command starts, asks ECR for a token, HEADs the manifest, writes the
// outputs. api-calls/op counts ECR, STS and registry requests.
func BenchmarkECRHit(b *testing.B) {
	srv := ecrtest.Start(b, ecrtest.Options{})
	job := newECRJob(b, srv)
	job.run(b).expect(b, srv, 0)
	calls := 0
	b.ResetTimer()
	for range b.N {
		srv.Reset()
		r := job.run(b)
		if r.Code != 0 || r.Outputs["CACHE_HIT"] != "true" {
			b.Fatalf("not a hit: %d %v\n%s", r.Code, r.Outputs, r.Stderr)
		}
		calls += len(srv.Calls()) + len(srv.Registry.Requests())
	}
	b.ReportMetric(float64(calls)/float64(b.N), "api-calls/op")
}
