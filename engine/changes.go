package engine

import (
	"encoding/json"
	"sort"
	"strings"
)

// changedInputs compares the inputs recorded on a previous image (its
// labels) with now's key, sorted by input name. Build args are compared by
// name: their values are never recorded. When no recorded input differs
// but the recorded key does, and there are build args, their values
// changed: that is said by elimination.
func changedInputs(labels map[string]string, now Key) []Change {
	var before []Input
	if json.Unmarshal([]byte(labels[LabelInputs]), &before) != nil {
		return nil
	}
	old := map[string]string{}
	for _, in := range PublishedInputs(before) {
		old[in.Name] = in.Digest
	}
	var changed []Change
	buildArgs := false
	for _, in := range PublishedInputs(now.Inputs) {
		buildArgs = buildArgs || strings.HasPrefix(in.Name, BuildArgInput)
		d, ok := old[in.Name]
		switch {
		case !ok:
			changed = append(changed, Change{Added, in.Name})
		case d != in.Digest:
			changed = append(changed, Change{Modified, in.Name})
		}
		delete(old, in.Name)
	}
	for name := range old {
		changed = append(changed, Change{Removed, name})
	}
	if len(changed) == 0 && buildArgs && labels[LabelKey] != "" && labels[LabelKey] != now.Tag {
		changed = append(changed, Change{Unrecorded, BuildArgValues})
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].Input < changed[j].Input })
	return changed
}

// ShortDigest is a digest's algorithm and first 12 hex digits.
func ShortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
