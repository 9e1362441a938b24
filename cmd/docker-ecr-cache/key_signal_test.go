package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalDuringKey: SIGTERM while the key parses the 63 MB
// [{},{},…] for the selector "." ends the run with exit 1 at once (not the
// grace period's 143), and the message names the step and the file.
func TestSignalDuringKey(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	b.WriteByte('[')
	for b.Len() < 63<<20 {
		b.WriteString("{},")
	}
	b.WriteString("{}]")
	if err := os.WriteFile(filepath.Join(dir, "big.json"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	p := startCommand(t, dir, env, "key", "--cache-on", "big.json#.", "--platform", "linux/amd64")
	time.Sleep(time.Second) // reading or parsing
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, took := p.exit(t, sent, 10*time.Second)
	log := p.log()
	if code != 1 || took > 2*time.Second {
		t.Errorf("exit %d after %v; want 1 within 2s:\n%s", code, took, log)
	}
	for _, want := range []string{"computing the key: ", "big.json", "context canceled"} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q:\n%s", want, log)
		}
	}
	t.Logf("stopped %v after SIGTERM:\n%s", took.Round(time.Millisecond), log)
}
