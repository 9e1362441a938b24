package docker

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/docker/pkg/jsonmessage"
)

func TestDisplayPlainLinesAuxAndErrors(t *testing.T) {
	t.Parallel()
	stream := `{"status":"The push refers to repository [127.0.0.1:5000/cache]"}
{"status":"Pushing","progressDetail":{"current":512,"total":1024},"id":"abc123"}
{"status":"Pushed","progressDetail":{},"id":"abc123"}
{"status":"t: digest: sha256:aa size: 528"}
{"progressDetail":{},"aux":{"Tag":"t","Digest":"sha256:aa","Size":528}}
`
	var out bytes.Buffer
	var digest string
	err := display(strings.NewReader(stream), &out, func(m jsonmessage.JSONMessage) {
		var aux struct{ Digest string }
		_ = json.Unmarshal(*m.Aux, &aux)
		digest = aux.Digest
	})
	want := "The push refers to repository [127.0.0.1:5000/cache]\nabc123: Pushed\nt: digest: sha256:aa size: 528\n"
	if err != nil || out.String() != want || digest != "sha256:aa" {
		t.Errorf("display = %v, %q, digest %q; want %q and the aux digest", err, out.String(), digest, want)
	}

	failed := `{"status":"Pushing","id":"abc123"}
{"errorDetail":{"message":"denied: requested access to the resource is denied"},"error":"denied: requested access to the resource is denied"}
`
	err = display(strings.NewReader(failed), &out, nil)
	if err == nil || err.Error() != "denied: requested access to the resource is denied" {
		t.Errorf("error in the stream: %v, want the daemon's message", err)
	}
}
