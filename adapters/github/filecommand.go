package github

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// FormatFileCommand formats entries for a runner file command (GITHUB_OUTPUT,
// GITHUB_ENV) as NAME<<DELIMITER, the value, DELIMITER, each on its own line,
// with a fresh random delimiter. A name or value that could end an entry
// early or start another is refused, and then nothing is returned.
func FormatFileCommand(entries []engine.Output) ([]byte, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return formatFileCommand(entries, "ghadelimiter_"+hex.EncodeToString(b))
}

func formatFileCommand(entries []engine.Output, delimiter string) ([]byte, error) {
	var buf bytes.Buffer
	for _, e := range entries {
		switch {
		case e.Name == "":
			return nil, fmt.Errorf("an output has an empty name")
		case strings.ContainsAny(e.Name, "=\r\n") || strings.Contains(e.Name, "<<"):
			return nil, fmt.Errorf("output name %q contains =, << or a line break", e.Name)
		case strings.ContainsAny(e.Value, "\r\n"):
			return nil, fmt.Errorf("output %s: the value contains a line break", e.Name)
		case strings.Contains(e.Value, delimiter):
			return nil, fmt.Errorf("output %s: the value contains the delimiter", e.Name)
		}
		fmt.Fprintf(&buf, "%s<<%s\n%s\n%s\n", e.Name, delimiter, e.Value, delimiter)
	}
	return buf.Bytes(), nil
}

// appendFile appends data to the file at path in one write.
func appendFile(path string, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
