package testenv

import (
	"os"
	"syscall"
	"testing"
)

// WriteExecutable writes a stub program (a script the code under test
// runs) to path, mode 0755.
//
// A file still open for writing cannot be executed (ETXTBSY, "text file
// busy"), and a process forked by a parallel test in the meantime holds a
// copy of the writer's descriptor until it calls exec. Holding
// syscall.ForkLock, which os/exec takes around every fork, while the file is
// open keeps every fork of this process out of that window.
func WriteExecutable(t testing.TB, path, content string) {
	t.Helper()
	if err := WriteExecutableFile(path, content); err != nil {
		t.Fatal(err)
	}
}

// WriteExecutableFile is WriteExecutable for callers without a testing.TB,
// such as a testscript command.
func WriteExecutableFile(path, content string) error {
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
