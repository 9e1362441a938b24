// Package firstgc lets a short run end without a garbage collection.
//
// A hit allocates about 4 MiB, most of it in its dependencies' package
// initialisers, and the runtime's first collection comes at 4 MiB: a tenth
// of a hit's time. Importing this package raises GOGC to ShortRun until
// the first collection, and gives the runtime's default back after it, so
// that a long run (a large key, a build) keeps the usual bound.
//
// Go initialises a package once its imports are, the first by import path
// of those ready; this one imports only the standard library's os and
// runtime, so it runs before most dependencies' initialisers. A blank
// import in main is all it takes.
package firstgc

import (
	"os"
	"runtime"
	"runtime/debug"
)

// ShortRun is the GOGC until the first collection: that collection then
// waits for a heap of 16 MiB instead of 4 MiB.
const ShortRun = 400

func init() { Defer() }

// Defer raises GOGC to ShortRun until the next collection, and then puts
// back the GOGC it found. A GOGC set in the environment is left alone.
func Defer() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	previous := debug.SetGCPercent(ShortRun)
	// The next collection finds first unreachable and queues its cleanup;
	// it is too large for the tiny allocator, whose objects may never be
	// cleaned up.
	first := new([64]byte)
	runtime.AddCleanup(first, func(percent int) { debug.SetGCPercent(percent) }, previous)
}
