// Package firstgc lets a short run end without a garbage collection.
//
// A hit allocates about 4 MiB, most of it in its dependencies' package
// initialisers, and the runtime's first collection comes at 4 MiB: a tenth
// of a hit's time. Importing this package raises GOGC to ShortRun until
// the first collection, and gives the runtime's default back after it, so
// that a long run (a large key, a build) keeps the usual bound.
//
// Go initialises packages in import-path order, each once its imports
// are. This one imports only the standard library, so it runs halfway
// through the dependencies' initialisers (after 1.7 of their 2.9 MiB in
// this binary), where main would run after all of them, and the first
// collection would still come during them in one run of ten. A blank
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
// back the GOGC it found. A GOGC set in the environment is left alone;
// an empty one, which the runtime reads as the default, is not a setting.
func Defer() {
	if os.Getenv("GOGC") != "" {
		return
	}
	previous := debug.SetGCPercent(ShortRun)
	// The next collection finds first unreachable and queues its cleanup;
	// it is too large for the tiny allocator, whose objects may never be
	// cleaned up.
	first := new([64]byte)
	runtime.AddCleanup(first, func(percent int) { debug.SetGCPercent(percent) }, previous)
}
