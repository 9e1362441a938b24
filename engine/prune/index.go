package prune

import (
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// IndexTag is the tag of the artifact in which a prune of a registry
// leaves the key and build start of every image it kept, by config
// digest: the next prune reads one manifest per kept key instead of a
// manifest and a config. A config is content-addressed, so an entry
// stays true; the index is never trusted to delete (the config of every
// image to delete is read), only to keep.
const IndexTag = "docker-ecr-cache-prune-index"

const indexMediaType types.MediaType = "application/vnd.docker-ecr-cache.prune-index.v1+json"

type indexEntry struct {
	Key     string `json:"key"`
	Started string `json:"started"`
}

// ageIndex maps a config digest to its image's labels.
type ageIndex map[string]indexEntry

// loadIndex reads the last prune's index: two GETs. A missing or
// unreadable index is empty: every config is read.
func (r *Registry) loadIndex(ctx context.Context) ageIndex {
	desc, err := r.puller.Get(ctx, r.repo.Tag(IndexTag))
	if err != nil {
		return nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		return nil
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		return nil
	}
	defer rc.Close()
	var idx ageIndex
	if json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(&idx) != nil {
		return nil
	}
	return idx
}

// Save writes the index of the key images plan keeps.
func (r *Registry) Save(ctx context.Context, plan []Decision) error {
	idx := ageIndex{}
	for _, d := range plan {
		cfg, ok := r.configs[d.Tag]
		if d.Delete || !ok || d.Key != d.Tag || d.Pushed.IsZero() {
			continue
		}
		idx[cfg] = indexEntry{Key: d.Key, Started: engine.FormatStarted(d.Pushed)}
	}
	data, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(bytes.TrimSpace(data), indexMediaType)})
	if err != nil {
		return err
	}
	pusher, err := remote.NewPusher(r.Client.Options(ctx, r.Auth)...)
	if err != nil {
		return err
	}
	return pusher.Push(ctx, r.repo.Tag(IndexTag), img)
}
