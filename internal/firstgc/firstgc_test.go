package firstgc

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gogc is the process's GOGC as the runtime holds it.
func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestDefer: GOGC is ShortRun until the next collection and what it was
// after it; a GOGC in the environment is left alone, unless it is empty.
func TestDefer(t *testing.T) {
	t.Cleanup(func() { debug.SetGCPercent(100) })
	if v, set := os.LookupEnv("GOGC"); set {
		t.Cleanup(func() { os.Setenv("GOGC", v) })
	}
	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)

	Defer()
	if got := gogc(); got != ShortRun {
		t.Fatalf("GOGC %d before the next collection, want %d", got, ShortRun)
	}
	// The cleanup runs on a goroutine of its own after the collection.
	for deadline := time.Now().Add(10 * time.Second); gogc() != 100 && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := gogc(); got != 100 {
		t.Fatalf("GOGC %d after the collection, want 100", got)
	}

	t.Setenv("GOGC", "")
	Defer()
	if got := gogc(); got != ShortRun {
		t.Errorf("with an empty GOGC in the environment, GOGC %d, want %d", got, ShortRun)
	}

	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50)
	Defer()
	if got := gogc(); got != 50 {
		t.Errorf("with GOGC=50 in the environment, GOGC %d, want 50", got)
	}
}
