package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// proc is the built command running in the background.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	lines  chan string
	done   chan struct{}
	err    error
}

// startCommand starts the built command in dir with exactly env.
func startCommand(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(testenv.Binary(t), args...), lines: make(chan string, 1000), done: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = dir, env
	// The process's own end of the pipe: Wait returns when it exits, even
	// while a child it left behind holds stderr open.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = w
	err = p.cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		time.Sleep(100 * time.Millisecond) // the last lines reach the log
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitFor waits until a line of stderr matches pattern.
func (p *proc) waitFor(t *testing.T, pattern string, timeout time.Duration) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.lines:
			if re.MatchString(line) {
				return
			}
		case <-p.done:
			t.Fatalf("the command ended before %q:\n%s", pattern, p.log())
		case <-deadline:
			t.Fatalf("no %q within %v:\n%s", pattern, timeout, p.log())
		}
	}
}

// exit waits for the command to end and returns its exit code and how
// long it took from since.
func (p *proc) exit(t *testing.T, since time.Time, timeout time.Duration) (int, time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("still running %v after the signal:\n%s", timeout, p.log())
	}
	took := time.Since(since) - 100*time.Millisecond
	var exitErr *exec.ExitError
	if !errors.As(p.err, &exitErr) {
		return 0, took
	}
	return exitErr.ExitCode(), took
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// signalEnv is the environment of a run against reg's repository cache.
func signalEnv(host string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"DOCKER_HOST=" + os.Getenv("DOCKER_HOST"),
		"HOME=" + os.TempDir(),
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry",
		"DOCKER_ECR_CACHE_REGISTRY=" + host + "/cache",
	}, extra...)
}

// TestSignalStopsTheBuild: SIGTERM during a long build stops the run
// within 5 s, through the context, with nothing pushed and latest where it
// was.
func TestSignalStopsTheBuild(t *testing.T) {
	testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dir := t.TempDir()
	testenv.Busybox(t, dir)
	write := func(dockerfile string) {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := signalEnv(reg.Host)
	write("FROM scratch\nCOPY busybox /bin/busybox\n")
	if r := testenv.RunCommand(t, dir, env); r.Code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.Code, r.Stderr)
	}
	lookup := oci.NewClient(engine.Discard)
	latest, err := lookup.Lookup(context.Background(), reg.Host+"/cache", "latest", engine.Auth{})
	if err != nil {
		t.Fatal(err)
	}

	// A build that takes a minute, unless it is stopped.
	write(fmt.Sprintf("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sleep\", \"60\"]\n# %d\n", time.Now().UnixNano()))
	reg.Reset()
	p := startCommand(t, dir, env)
	p.waitFor(t, `RUN .*sleep`, time.Minute)
	time.Sleep(time.Second) // the sleep runs
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, took := p.exit(t, sent, 10*time.Second)
	if code == 0 || took > 5*time.Second {
		t.Errorf("exit %d after %v; want non-zero within 5s:\n%s", code, took, p.log())
	}
	if strings.Contains(p.log(), "did not stop within") {
		t.Errorf("the build did not heed the context; the grace period ended it:\n%s", p.log())
	}
	if !regexp.MustCompile(`(?m)^error: stopped while building: building .*context canceled`).MatchString(p.log()) {
		t.Errorf("the error does not name the phase it stopped:\n%s", p.log())
	}
	for _, r := range reg.Requests() {
		if strings.HasPrefix(r, "PUT ") || strings.HasPrefix(r, "POST ") || strings.HasPrefix(r, "PATCH ") {
			t.Errorf("a stopped run wrote to the registry: %s", r)
		}
	}
	if now, err := lookup.Lookup(context.Background(), reg.Host+"/cache", "latest", engine.Auth{}); err != nil || now != latest {
		t.Errorf("latest is %s (%v), was %s", now, err, latest)
	}
	t.Logf("stopped %v after SIGTERM", took.Round(time.Millisecond))
}

// TestSignalStuckPhase: a phase that does not heed the context (a
// credential helper that hangs) cannot hold the process: a second signal
// exits at once, and without one the process exits when the grace period
// ends, within 5 s of the first.
func TestSignalStuckPhase(t *testing.T) {
	testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	for _, tt := range []struct {
		name   string
		second bool
		within time.Duration
	}{
		{name: "second signal", second: true, within: time.Second},
		{name: "grace period", within: 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			// docker-credential-stuck hangs, as a helper waiting for a
			// locked keyring does; it records its pid to be ended after.
			bin, config := t.TempDir(), t.TempDir()
			pidFile := filepath.Join(bin, "helper.pid")
			helper := "#!/bin/sh\necho $$ > " + pidFile + "\nexec sleep 30\n"
			testenv.WriteExecutable(t, filepath.Join(bin, "docker-credential-stuck"), helper)
			cfg := `{"credHelpers": {"` + reg.Host + `": "stuck"}}`
			if err := os.WriteFile(filepath.Join(config, "config.json"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if b, err := os.ReadFile(pidFile); err == nil {
					if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			})
			env := signalEnv(reg.Host, "DOCKER_CONFIG="+config)
			env[0] = "PATH=" + bin + ":" + os.Getenv("PATH")
			p := startCommand(t, dir, env)
			p.waitFor(t, `Looking up`, 30*time.Second)
			for i := 0; i < 100; i++ { // the helper has started
				if _, err := os.Stat(pidFile); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			sent := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			p.waitFor(t, `(SIGTERM|terminated): stopping while looking up`, 5*time.Second)
			if tt.second {
				time.Sleep(500 * time.Millisecond)
				select {
				case <-p.done:
					t.Fatalf("the helper did not hang: the process ended at the first signal:\n%s", p.log())
				default:
				}
				sent = time.Now()
				if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			code, took := p.exit(t, sent, 10*time.Second)
			if code != 143 || took > tt.within {
				t.Errorf("exit %d after %v; want 143 within %v:\n%s", code, took, tt.within, p.log())
			}
			if !regexp.MustCompile(`(?m)exiting now, stopped while looking up$`).MatchString(p.log()) {
				t.Errorf("the exit does not name the phase it stopped:\n%s", p.log())
			}
			t.Logf("exit %d %v after the last signal:\n%s", code, took.Round(time.Millisecond), p.log())
		})
	}
}

// TestSignalNamesThePhase: SIGTERM while a cache-on selector runs ends
// with an error that names the phase it stopped, in run and in key, not a
// bare "context canceled".
func TestSignalNamesThePhase(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"Dockerfile": "FROM scratch\n", "p.json": `{"a":1}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A selector that runs until its 10 s bound, unless it is stopped.
	slow := "p.json#last(range(1e12))"
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"key", []string{"key", "--cache-on", slow}, `(?m)^error: stopped while computing cache key: .*context canceled`},
		{"run", []string{"--cache-on", slow, "--registry-provider", "local"}, `(?m)^error: stopped while computing cache key: .*context canceled`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "run" {
				testenv.Docker(t)
			}
			env := signalEnv("127.0.0.1:1")
			p := startCommand(t, dir, env, tt.args...)
			if tt.name == "run" {
				p.waitFor(t, `Computing cache key`, 30*time.Second)
			}
			time.Sleep(time.Second) // the selector runs
			sent := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			code, took := p.exit(t, sent, 10*time.Second)
			if code != 1 || took > 5*time.Second || !regexp.MustCompile(tt.want).MatchString(p.log()) {
				t.Errorf("exit %d after %v; want 1 within 5 s and an error matching %s:\n%s", code, took, tt.want, p.log())
			}
		})
	}
}
