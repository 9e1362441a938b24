package docker

import (
	"encoding/json"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
)

// traceStatus decodes one moby.buildkit.trace aux value: a base64 JSON
// string of a protobuf controlapi.StatusResponse. Undecodable values give
// false and are skipped, as the docker CLI does.
func traceStatus(aux json.RawMessage) (*client.SolveStatus, bool) {
	var dt []byte
	if json.Unmarshal(aux, &dt) != nil {
		return nil, false
	}
	var resp controlapi.StatusResponse
	if resp.UnmarshalVT(dt) != nil {
		return nil, false
	}
	return client.NewSolveStatus(&resp), true
}
