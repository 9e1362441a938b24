package docker

import (
	"io"

	"github.com/docker/docker/pkg/jsonmessage"
)

// display writes the daemon's pull, push or build stream r to w as the
// docker CLI does without a terminal, leaving out progress bars, and hands
// each aux message to aux (which may be nil). An error in the stream is
// returned.
func display(r io.Reader, w io.Writer, aux func(jsonmessage.JSONMessage)) error {
	return jsonmessage.DisplayJSONMessagesStream(r, w, 0, false, aux)
}
