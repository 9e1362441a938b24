package engine

import (
	"fmt"
	"strings"
)

// Phase is a step of a run. The engine reports each one as it starts, with
// what it acts on; front ends style it in their CI's way.
type Phase int

// The phases of a run, in the order they can happen.
const (
	PhaseKey     Phase = iota + 1 // computing the cache key
	PhaseLookup                   // asking the registry for the key's tag
	PhasePull                     // pulling a hit
	PhasePrepare                  // readying the repository before a build
	PhaseBuild                    // building a miss
	PhasePush                     // pushing the key tag and latest
)

var phaseTitles = map[Phase]string{
	PhaseKey:     "Computing cache key",
	PhaseLookup:  "Looking up",
	PhasePull:    "Pulling",
	PhasePrepare: "Preparing repository",
	PhaseBuild:   "Building",
	PhasePush:    "Pushing",
}

func (p Phase) String() string {
	if t, ok := phaseTitles[p]; ok {
		return t
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Title is the phase's heading for subject, for example "Pulling host/repo:tag".
func (p Phase) Title(subject string) string {
	if subject == "" {
		return p.String()
	}
	return p.String() + " " + subject
}

// ChangeKind says how a key input differs from the previous image's.
type ChangeKind int

// The kinds of change.
const (
	Modified ChangeKind = iota + 1 // the input's digest differs
	Added                          // the input is new since the previous image
	Removed                        // the previous image had the input, this key does not
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
