package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/pkg/jsonmessage"
)

// display writes the daemon's pull or push stream r to w as `docker pull`
// does without a terminal, leaving out progress bars, and hands each aux
// message to aux (which may be nil). An error in the stream is returned.
func display(r io.Reader, w io.Writer, aux func(jsonmessage.JSONMessage)) error {
	return jsonmessage.DisplayJSONMessagesStream(r, w, 0, false, aux)
}

// message is one JSON message of the Engine API's build stream
// (github.com/docker/docker/pkg/jsonmessage, the fields used here).
type message struct {
	ID          string           `json:"id"`
	Status      string           `json:"status"`
	Stream      string           `json:"stream"`
	Progress    *json.RawMessage `json:"progressDetail"`
	Error       string           `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux *json.RawMessage `json:"aux"`
}

func (m *message) err() error {
	switch {
	case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
		return errors.New(m.ErrorDetail.Message)
	case m.Error != "":
		return errors.New(m.Error)
	}
	return nil
}

// hasProgress is true for the many "Downloading"/"Pushing" messages that a
// terminal would draw as a bar; plain output leaves them out.
func (m *message) hasProgress() bool {
	return m.Progress != nil && len(*m.Progress) > 2 // not "{}"
}

// readMessages decodes the stream r, calling fn for each message. It stops
// at the first error in the stream, which it returns.
func readMessages(r io.Reader, fn func(*message) error) error {
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the daemon's response: %w", err)
		}
		if err := m.err(); err != nil {
			return err
		}
		if err := fn(&m); err != nil {
			return err
		}
	}
}

// plainLine writes m as `docker pull` does without a terminal:
// "<id>: <status>", leaving out progress bars.
func plainLine(w io.Writer, m *message) {
	switch {
	case m.hasProgress():
	case m.Stream != "":
		_, _ = io.WriteString(w, m.Stream)
	case m.Status == "":
	case m.ID != "":
		fmt.Fprintf(w, "%s: %s\n", m.ID, strings.TrimRight(m.Status, "\n"))
	default:
		fmt.Fprintln(w, strings.TrimRight(m.Status, "\n"))
	}
}
