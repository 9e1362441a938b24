package key

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ChangeKind says how a key input differs from the previous image's.
type ChangeKind int

// The kinds of change.
const (
	Modified ChangeKind = iota + 1 // the input's digest differs
	Added                          // the input is new since the previous image
	Removed                        // the previous image had the input, this key does not
	// Unrecorded: no recorded input differs but the key does, so a value
	// that is never recorded changed (build-arg values).
	Unrecorded
)

// Change is one input that differs from the previous image's.
type Change struct {
	Kind  ChangeKind
	Input string // the input's name, as Key.Inputs names it
}

// Describe renders the change for people, with name rendering the input's
// name (for example escaping it for markdown).
func (c Change) Describe(name func(string) string) string {
	switch c.Kind {
	case Added:
		return name(c.Input) + " (new)"
	case Removed:
		return name(c.Input) + " (gone)"
	case Unrecorded:
		return name(c.Input) + " (not recorded)"
	default:
		return name(c.Input)
	}
}

// NoRecordedChange is what DescribeChanges says when no recorded input
// differs from the previous image's.
const NoRecordedChange = "no recorded input differs (the image was removed or expired)"

// DescribeChanges lists changes for people: at most most entries, each name
// rendered by name, then how many more there are.
func DescribeChanges(changes []Change, most int, name func(string) string) string {
	if len(changes) == 0 {
		return NoRecordedChange
	}
	parts := make([]string, 0, min(len(changes), most)+1)
	for _, c := range changes[:min(len(changes), most)] {
		parts = append(parts, c.Describe(name))
	}
	if len(changes) > most {
		parts = append(parts, fmt.Sprintf("and %d more", len(changes)-most))
	}
	return strings.Join(parts, ", ")
}

// BuildArgInput is the prefix of a build arg's input name.
const BuildArgInput = "build-arg "

// BuildArgValues is the input that Unrecorded names.
const BuildArgValues = "build-arg values"

// PublishedInputs are the key's inputs as they are printed and recorded
// (in logs, summaries, annotations and the image's label): build args by
// name only. A build arg's digest would give its value away when the value
// is guessable (PIN=123 is found among 1,000 tries).
func PublishedInputs(inputs []Input) []Input {
	out := make([]Input, len(inputs))
	for i, in := range inputs {
		if strings.HasPrefix(in.Name, BuildArgInput) {
			in.Digest = ""
		}
		out[i] = in
	}
	return out
}

// Changed compares the inputs recorded on a previous image (recorded, the
// JSON of its PublishedInputs, and recordedKey, its key's tag) with now's key, sorted by input name. Build args are compared by
// name: their values are never recorded. When no recorded input differs
// but the recorded key does, and there are build args, their values
// changed: that is said by elimination.
func Changed(recorded, recordedKey string, now Key) []Change {
	var before []Input
	if json.Unmarshal([]byte(recorded), &before) != nil {
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
	if len(changed) == 0 && buildArgs && recordedKey != "" && recordedKey != now.Tag {
		changed = append(changed, Change{Unrecorded, BuildArgValues})
	}
	slices.SortFunc(changed, func(a, b Change) int { return strings.Compare(a.Input, b.Input) })
	return changed
}
