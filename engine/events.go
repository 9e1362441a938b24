package engine

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
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
	PhasePrune                    // deleting the images of old keys
)

var phaseTitles = map[Phase]string{
	PhaseKey:     "Computing cache key",
	PhaseLookup:  "Looking up",
	PhasePull:    "Pulling",
	PhasePrepare: "Preparing repository",
	PhaseBuild:   "Building",
	PhasePush:    "Pushing",
	PhasePrune:   "Pruning",
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

// EscapeControl makes s safe to print as part of one log line: control
// characters (C0 but tab, DEL, C1), the Unicode line and paragraph
// separators and invalid UTF-8 are written as Go escapes (\r, \n, \x1b,
// \u2028), so that untrusted text (file names, error messages, build
// output) can neither start a line of its own nor drive a terminal.
func EscapeControl(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case isControl(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i, r := range s {
		if isControl(r) || r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return true
		}
	}
	return false
}

func isControl(r rune) bool {
	return r < 0x20 && r != '\t' || r >= 0x7f && r <= 0x9f || r == '\u2028' || r == '\u2029'
}
