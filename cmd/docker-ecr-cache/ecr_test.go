package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
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

type ecrRun struct {
	code           int
	stdout, stderr string
	out            map[string]string // the dotenv outputs
}

func (j *ecrJob) run(tb testing.TB) ecrRun {
	tb.Helper()
	cmd := exec.Command(testenv.Binary(tb))
	cmd.Dir = j.dir
	cmd.Env = append([]string(nil), j.aws...)
	for k, v := range j.options {
		cmd.Env = append(cmd.Env, "DOCKER_ECR_CACHE_"+k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := ecrRun{stdout: stdout.String(), stderr: stderr.String(), out: map[string]string{}}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		tb.Fatalf("running docker-ecr-cache: %v", err)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r.out[k] = v
		}
	}
	return r
}

// expect checks the exit code, and that no log shows the registry password
// or the token that holds it.
func (r ecrRun) expect(tb testing.TB, srv *ecrtest.Server, code int) {
	tb.Helper()
	if r.code != code {
		tb.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + srv.Password))
	for _, secret := range []string{srv.Password, token} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			tb.Errorf("the output shows the ECR token:\n%s\n%s", r.stdout, r.stderr)
		}
	}
}

func (r ecrRun) says(tb testing.TB, wants ...string) {
	tb.Helper()
	for _, want := range wants {
		if !strings.Contains(r.stderr, want) {
			tb.Errorf("stderr does not say %q:\n%s", want, r.stderr)
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

func TestECRMissCreatesThenHitCostsTwoRequests(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	job.options["ECR_TAGS"] = `{"CostCenter":"Platform","team":"ci"}`
	job.options["MAX_AGE_DAYS"] = "7"

	miss := job.run(t)
	miss.expect(t, srv, 0)
	image := srv.RegistryHost + "/" + job.name
	if miss.out["CACHE_HIT"] != "false" || miss.out["IMAGE"] != image || miss.out["IMAGE_REF"] != image+":"+miss.out["TAG"] ||
		!regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(miss.out["DIGEST"]) || miss.out["KEY"] != miss.out["TAG"] || miss.out["TAG"] == "" {
		t.Fatalf("outputs %v", miss.out)
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
	for _, tag := range []string{miss.out["TAG"], "latest"} {
		if !strings.Contains(pushed, "PUT /v2/"+job.name+"/manifests/"+tag+" 201") {
			t.Errorf("%s was not pushed: %s", tag, pushed)
		}
	}

	srv.Reset()
	hit := job.run(t)
	hit.expect(t, srv, 0)
	if hit.out["CACHE_HIT"] != "true" || hit.out["IMAGE_REF"] != miss.out["IMAGE_REF"] || hit.out["DIGEST"] != miss.out["DIGEST"] {
		t.Errorf("hit outputs %v, miss outputs %v", hit.out, miss.out)
	}
	hit.says(t, "already on this machine")
	if got := ecrCalls(srv); got != "GetAuthorizationToken" {
		t.Errorf("ECR calls on a hit %q, want only GetAuthorizationToken (no STS: registry-hostname is set)", got)
	}
	want := "HEAD /v2/" + job.name + "/manifests/" + miss.out["TAG"] + " 200"
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = job.run(t)
		}()
	}
	wg.Wait()
	for _, r := range runs {
		r.expect(t, srv, 0)
		if r.out["CACHE_HIT"] != "false" {
			t.Errorf("outputs %v, want a miss", r.out)
		}
	}
	if n := srv.Count("CreateRepository"); n != 2 {
		t.Errorf("%d CreateRepository calls, want 2 racing: %s", n, ecrCalls(srv))
	}
	both := runs[0].stderr + runs[1].stderr
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
	if r.out["CACHE_HIT"] != "false" {
		t.Errorf("outputs %v", r.out)
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
	if strings.Contains(r.stderr, "Building") || strings.Contains(r.stderr, "cache miss:") {
		t.Errorf("a rejected token led to a build:\n%s", r.stderr)
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
	if got := ecrCalls(srv); got != "" {
		t.Errorf("ECR calls %q, want none", got)
	}
	if got := srv.Registry.Requests(); len(got) != 0 {
		t.Errorf("registry requests %q, want none", got)
	}
}

func TestECRInvalidNameExits2BeforeAnyCall(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	job.options["ECR_NAME"] = "Build_Cache/App"
	job.options["ECR_ACCOUNT_ID"] = "1234"
	r := job.run(t)
	r.expect(t, srv, 2)
	r.says(t, `ecr-name "Build_Cache/App" is not a valid ECR repository name`, `ecr-account-id "1234" is not an AWS account ID`)
	if got := ecrCalls(srv); got != "" {
		t.Errorf("ECR calls %q, want none", got)
	}
	if got := srv.Registry.Requests(); len(got) != 0 {
		t.Errorf("registry requests %q, want none", got)
	}
}

func TestECRCreateDeniedFailsAndPushesNothing(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	srv.Deny("CreateRepository")
	job := newECRJob(t, srv)
	r := job.run(t)
	r.expect(t, srv, 1)
	r.says(t, "creating repository "+job.name, "ecr:CreateRepository was denied", "AccessDeniedException")
	if strings.Contains(r.stderr, "Building") {
		t.Errorf("it built although the repository could not be created:\n%s", r.stderr)
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
		if r.code != 0 || r.out["CACHE_HIT"] != "true" {
			b.Fatalf("not a hit: %d %v\n%s", r.code, r.out, r.stderr)
		}
		calls += len(srv.Calls()) + len(srv.Registry.Requests())
	}
	b.ReportMetric(float64(calls)/float64(b.N), "api-calls/op")
}
