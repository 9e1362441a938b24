package engine

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Phase is a step of a run. The engine reports each one as it starts, with
// what it acts on; front ends style it in their CI's way.
type Phase int

// The phases of a run, in the order they can happen.
const (
	PhaseKey     Phase = iota + 1 // computing the cache key
	PhaseLookup                   // asking the registry for the key's tag
	PhaseWait                     // waiting for another run's build of the key
	PhasePull                     // pulling a hit
	PhasePrepare                  // readying the repository before a build
	PhaseBuild                    // building a miss
	PhasePush                     // pushing the key tag and latest
	PhasePrune                    // deleting the images of old keys
)

var phaseTitles = map[Phase]string{
	PhaseKey:     "Computing cache key",
	PhaseLookup:  "Looking up",
	PhaseWait:    "Waiting for another run's build",
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

// EscapeControl makes s safe to print as part of one log line: control
// characters (C0 but tab, DEL, C1), the Unicode line and paragraph
// separators, the invisible formatting characters (Unicode Cf: the bidi
// controls of "Trojan Source", zero-width spaces and joiners, the byte
// order mark) and invalid UTF-8 are written as Go escapes (\r, \n, \x1b,
// \u202e), and a backslash as \\. Untrusted text (file names, error
// messages, build output) can then neither start a line of its own, nor
// drive a terminal, nor reorder what a reader sees; and the escaping is
// reversible: the four characters \x1b print apart from an ESC.
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
		case r == '\\':
			b.WriteString(`\\`)
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
		if r == '\\' || isControl(r) || r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return true
		}
	}
	return false
}

// isControl reports the characters EscapeControl escapes (but the
// backslash): control characters, line and paragraph separators, and
// the invisible formatting characters.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' || r >= 0x7f && r <= 0x9f ||
		r >= 0xad && (r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)) // U+00AD is the first Cf
}
