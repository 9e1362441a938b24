package buildlock_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildlock"
)

const ref = "127.0.0.1:5000/cache:0123456789abcdef"

func acquire(t *testing.T, dir, ref string, wait time.Duration) (func(), bool) {
	t.Helper()
	release, waited, err := buildlock.Acquire(context.Background(), dir, ref, wait, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return release, waited
}

func TestFreeLockIsTakenAtOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "locks") // created on demand
	called := false
	release, waited, err := buildlock.Acquire(context.Background(), dir, ref, time.Second, func() { called = true })
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if waited || called {
		t.Errorf("a free lock: waited=%v, onWait called=%v; want neither", waited, called)
	}
	if _, err := os.Stat(buildlock.Path(dir, ref)); err != nil {
		t.Errorf("lock file: %v", err)
	}
	// Another image does not contend.
	if _, waited := acquire(t, dir, ref+"x", 0); waited {
		t.Error("the lock of another image waited")
	}
}

func TestWaiterGetsTheLockWhenTheHolderReleases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	release, _ := acquire(t, dir, ref, 0)
	onWait := make(chan struct{})
	go func() {
		<-onWait
		time.Sleep(200 * time.Millisecond)
		release()
	}()
	start := time.Now()
	release2, waited, err := buildlock.Acquire(context.Background(), dir, ref, 10*time.Second, func() { close(onWait) })
	if err != nil {
		t.Fatal(err)
	}
	release2()
	if d := time.Since(start); !waited || d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("waited=%v after %s; want true, soon after the holder's 200ms", waited, d)
	}
}

func TestOneHolderAtATime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var inside atomic.Int32
	var overlap atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			release, _, err := buildlock.Acquire(context.Background(), dir, ref, 10*time.Second, nil)
			if err != nil {
				t.Error(err)
				return
			}
			if inside.Add(1) > 1 {
				overlap.Store(true)
			}
			time.Sleep(20 * time.Millisecond)
			inside.Add(-1)
			release()
		})
	}
	wg.Wait()
	if overlap.Load() {
		t.Error("two holders at once")
	}
}

func TestWaiterTimesOutWithinBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	acquire(t, dir, ref, 0)
	start := time.Now()
	_, waited, err := buildlock.Acquire(context.Background(), dir, ref, 300*time.Millisecond, nil)
	d := time.Since(start)
	if !errors.Is(err, buildlock.ErrTimeout) || !waited {
		t.Fatalf("Acquire of a held lock = waited %v, %v; want ErrTimeout", waited, err)
	}
	if d < 300*time.Millisecond || d > 1300*time.Millisecond {
		t.Errorf("timed out after %s, want 300ms (+ at most 1s)", d)
	}
	if !strings.Contains(err.Error(), ref) {
		t.Errorf("error %q does not name the image", err)
	}
}

func TestCancelStopsTheWaitPromptly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	acquire(t, dir, ref, 0)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := buildlock.Acquire(ctx, dir, ref, time.Minute, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire after cancel = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancel took %s to stop the wait", d)
	}
}

// TestHelperProcess holds the lock in a child process: it takes
// BUILDLOCK_DIR/BUILDLOCK_REF, prints "locked", and releases when its stdin
// closes (or dies when killed).
func TestHelperProcess(t *testing.T) {
	if os.Getenv("BUILDLOCK_HELPER") != "1" {
		t.Skip("helper process for the cross-process tests")
	}
	release, _, err := buildlock.Acquire(context.Background(), os.Getenv("BUILDLOCK_DIR"), os.Getenv("BUILDLOCK_REF"), 10*time.Second, nil)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until stdin closes
	release()
	os.Exit(0)
}

// holder starts a child process holding the lock of ref in dir.
func holder(t *testing.T, dir string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "BUILDLOCK_HELPER=1", "BUILDLOCK_DIR="+dir, "BUILDLOCK_REF="+ref)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper process: %q %v", line, err)
	}
	return cmd, func() { _ = stdin.Close() }
}

func TestExclusiveAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, releaseChild := holder(t, dir)

	if _, _, err := buildlock.Acquire(context.Background(), dir, ref, 100*time.Millisecond, nil); !errors.Is(err, buildlock.ErrTimeout) {
		t.Fatalf("Acquire while another process holds the lock = %v, want ErrTimeout", err)
	}
	time.AfterFunc(200*time.Millisecond, releaseChild)
	if _, waited := acquire(t, dir, ref, 10*time.Second); !waited {
		t.Error("got the lock without waiting for the other process")
	}
}

func TestKilledHolderReleasesTheLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd, _ := holder(t, dir)
	time.AfterFunc(200*time.Millisecond, func() { _ = cmd.Process.Kill() }) // SIGKILL: no release runs
	start := time.Now()
	if _, waited := acquire(t, dir, ref, 10*time.Second); !waited {
		t.Error("got the lock without waiting for the other process")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s to get the lock of a killed holder", d)
	}
}
