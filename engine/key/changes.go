package key

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
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

// Changed compares the inputs recorded on a previous image (recorded, its
// Record or the per-input JSON of older versions, and recordedKey, its
// key's tag) with now's key, sorted by input name. A cache-on entry
// recorded as a digest is compared group by group: a change names the
// entry and the directory that changed. An entry recorded file by file is
// compared file by file, its changes folded into directory groups when the
// entry is no longer small. Build args are compared by name: their values
// are never recorded. When no recorded input differs but the recorded key
// does, and there are build args, their values changed: that is said by
// elimination.
func Changed(recorded, recordedKey string, now Key) []Change {
	var before []Recorded
	if json.Unmarshal([]byte(recorded), &before) != nil {
		return nil
	}
	oldInputs := map[string]string{}
	oldPatterns := map[string]Recorded{}
	for _, r := range before {
		switch {
		case strings.HasPrefix(r.Name, PatternInput):
			oldPatterns[r.Name] = r
		case r.Name == omittedInput:
		case strings.HasPrefix(r.Name, BuildArgInput):
			oldInputs[r.Name] = ""
		default:
			oldInputs[r.Name] = r.Digest
		}
	}
	inputs := PublishedInputs(now.Inputs)
	set := map[Change]bool{}
	add := func(kind ChangeKind, name string) { set[Change{kind, name}] = true }
	consumed := map[string]bool{} // old inputs compared with now's
	compare := func(in Input) (ChangeKind, bool) {
		consumed[in.Name] = true
		d, ok := oldInputs[in.Name]
		switch {
		case !ok:
			return Added, true
		case d != in.Digest:
			return Modified, true
		}
		return 0, false
	}
	inPattern := make([]bool, len(inputs))
	for _, p := range now.CacheOn {
		for _, i := range p.Inputs {
			inPattern[i] = true
		}
	}
	buildArgs := false
	for i, in := range inputs {
		buildArgs = buildArgs || strings.HasPrefix(in.Name, BuildArgInput)
		if kind, ok := compare(in); ok && !inPattern[i] {
			add(kind, in.Name)
		}
	}
	seen := map[string]bool{}
	for _, p := range now.CacheOn {
		name := PatternInput + p.Entry
		if seen[name] {
			continue
		}
		seen[name] = true
		if old, ok := oldPatterns[name]; ok {
			delete(oldPatterns, name)
			if old.Digest != groupDigest(inputs, p.Inputs) {
				changedGroups(old, p, inputs, add)
			}
			continue
		}
		// Recorded file by file, or not at all: compare the files.
		var dirs []string // nil: file by file
		if len(p.Inputs) > SmallPattern {
			dirs = group(inputs, p.Inputs, MaxGroups)
		}
		report := func(kind ChangeKind, in string) {
			switch d := groupOf(dirs, in); {
			case dirs == nil:
				add(kind, in)
			case d == "":
				add(Modified, name)
			default:
				add(Modified, describeGroup(p.Entry, d, dirs))
			}
		}
		now := map[string]bool{}
		for _, i := range p.Inputs {
			now[inputs[i].Name] = true
			if kind, ok := compare(inputs[i]); ok {
				report(kind, inputs[i].Name)
			}
		}
		for in := range oldInputs {
			if !now[in] && matchesEntry(p.Entry, in) {
				consumed[in] = true
				report(Removed, in)
			}
		}
	}
	for in := range oldInputs {
		if !consumed[in] {
			add(Removed, in)
		}
	}
	for name := range oldPatterns {
		add(Removed, name)
	}
	if len(set) == 0 && buildArgs && recordedKey != "" && recordedKey != now.Tag {
		add(Unrecorded, BuildArgValues)
	}
	changed := make([]Change, 0, len(set))
	for c := range set {
		changed = append(changed, c)
	}
	slices.SortFunc(changed, func(a, b Change) int {
		return cmp.Or(strings.Compare(a.Input, b.Input), cmp.Compare(a.Kind, b.Kind))
	})
	if len(changed) == 0 {
		return nil
	}
	return changed
}

// changedGroups adds the changes of the cache-on entry p since old, its
// record: the groups whose digests differ, or the entry itself when old
// has no groups.
func changedGroups(old Recorded, p Pattern, inputs []Input, add func(ChangeKind, string)) {
	if len(old.Groups) == 0 {
		add(Modified, PatternInput+p.Entry)
		return
	}
	was := map[string]string{}
	dirs := make([]string, 0, len(old.Groups))
	for _, g := range old.Groups {
		was[g.Dir] = g.Digest
		dirs = append(dirs, g.Dir)
	}
	slices.Sort(dirs)
	for _, g := range groupsOf(inputs, p.Inputs, dirs) {
		d, ok := was[g.Dir]
		switch {
		case !ok:
			add(Added, describeGroup(p.Entry, g.Dir, dirs))
		case d != g.Digest:
			add(Modified, describeGroup(p.Entry, g.Dir, dirs))
		}
		delete(was, g.Dir)
	}
	for dir := range was {
		add(Removed, describeGroup(p.Entry, dir, dirs))
	}
}

// matchesEntry reports whether the cache-on entry (glob#selector) would
// match the recorded input in, a file or JSON selection.
func matchesEntry(entry, in string) bool {
	glob, sel, _ := strings.Cut(entry, "#")
	var p string
	if sel == "" {
		var ok bool
		if p, ok = strings.CutPrefix(in, "file "); !ok {
			return false
		}
	} else {
		rest, ok := strings.CutPrefix(in, "json ")
		if !ok || !strings.HasSuffix(rest, "#"+sel) {
			return false
		}
		p = strings.TrimSuffix(rest, "#"+sel)
	}
	glob = path.Clean(strings.TrimPrefix(glob, "./"))
	if !hasDotName(glob) && hasDotName(p) {
		return false
	}
	ok, err := doublestar.Match(glob, p)
	return ok && err == nil
}
