package key

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Bounds of what is recorded of the key's inputs (the image's label).
const (
	// SmallPattern is the most files of a cache-on entry that are recorded
	// one by one; an entry matching more is recorded as its digest and
	// directory groups.
	SmallPattern = 50
	// MaxGroups bounds the directory groups recorded of a cache-on entry.
	MaxGroups = 32
	// MaxRecord bounds the bytes of the recorded inputs' JSON, whatever the
	// number of files.
	MaxRecord = 64 << 10
)

// PatternInput is the name of a cache-on entry's input in a record.
const PatternInput = "cache-on "

// omittedInput names the one entry that stands for the inputs left out of
// a record that would pass MaxRecord otherwise.
const omittedInput = "(inputs not recorded)"

// Pattern is a cache-on entry and the key inputs it matched.
type Pattern struct {
	Entry  string // as given, trimmed
	Inputs []int  // indices in Key.Inputs
}

// Recorded is one entry of a record: an input, or a cache-on entry with
// how many files it matched, their digest and their directory groups.
type Recorded struct {
	Name   string  `json:"name"`
	Digest string  `json:"digest"`
	Files  int     `json:"files,omitempty"`
	Depth  int     `json:"depth,omitempty"` // the groups' directories' most parts
	Groups []Group `json:"groups,omitempty"`
}

// Group is the inputs of a cache-on entry under one directory: a
// directory of Depth parts stands for it and all below, a shorter one
// for its own files only.
type Group struct {
	Dir    string `json:"dir"`
	Files  int    `json:"files"`
	Digest string `json:"digest"`
}

// Summary is a cache-on entry as the log shows it.
type Summary struct {
	Entry  string
	Files  int
	Digest string
}

// Summaries are the key's cache-on entries, each with its file count and
// digest, in the order given.
func Summaries(k Key) []Summary {
	out := make([]Summary, 0, len(k.CacheOn))
	for _, p := range k.CacheOn {
		out = append(out, Summary{p.Entry, len(p.Inputs), groupDigest(k.Inputs, p.Inputs)})
	}
	return out
}

// Record is what is recorded of k's inputs on its image, as JSON: its
// PublishedInputs but that a cache-on entry matching more than
// SmallPattern files is one entry with its digest and at most MaxGroups
// directory groups. It is at most MaxRecord bytes, whatever the number of
// files: past it, groups are dropped, then small entries are summarized,
// then inputs are left out, standing as one digest.
func Record(k Key) []byte {
	for _, s := range []struct{ small, groups int }{{SmallPattern, MaxGroups}, {SmallPattern, 8}, {0, 8}, {0, 0}} {
		b := mustJSON(record(k, s.small, s.groups))
		if len(b) <= MaxRecord {
			return b
		}
	}
	rec := record(k, 0, 0)
	size := 2 + len(mustJSON(Recorded{Name: omittedInput, Digest: digest(nil)}))
	n := 0
	for ; n < len(rec); n++ {
		size += len(mustJSON(rec[n])) + 1
		if size > MaxRecord {
			break
		}
	}
	h := sha256.New()
	for _, r := range rec[n:] {
		frame(h, r.Name)
		frame(h, r.Digest)
	}
	return mustJSON(append(rec[:n:n], Recorded{Name: omittedInput, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings and ints only
	}
	return b
}

// record is k's record with entries of more than small files summarized,
// each with at most groups groups.
func record(k Key, small, groups int) []Recorded {
	inputs := PublishedInputs(k.Inputs)
	covered := make([]bool, len(inputs)) // recorded within a summarized entry
	var summarized []Recorded
	var listed []int
	for _, p := range k.CacheOn {
		if len(p.Inputs) <= small {
			listed = append(listed, p.Inputs...)
			continue
		}
		r := Recorded{Name: PatternInput + p.Entry, Digest: groupDigest(inputs, p.Inputs), Files: len(p.Inputs)}
		if groups > 0 {
			r.Depth, r.Groups = group(inputs, p.Inputs, groups)
		}
		summarized = append(summarized, r)
		for _, i := range p.Inputs {
			covered[i] = true
		}
	}
	for _, i := range listed {
		covered[i] = false
	}
	var out []Recorded
	for i, in := range inputs {
		if !covered[i] {
			out = append(out, Recorded{Name: in.Name, Digest: in.Digest})
		}
	}
	return append(out, summarized...)
}

// groupDigest hashes the inputs at idx, names and digests.
func groupDigest(inputs []Input, idx []int) string {
	h := sha256.New()
	for _, i := range idx {
		frame(h, inputs[i].Name)
		frame(h, inputs[i].Digest)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// inputPath is the file path of a cache-on input's name.
func inputPath(name string) string {
	if p, ok := strings.CutPrefix(name, "file "); ok {
		return p
	}
	p, _ := strings.CutPrefix(name, "json ")
	if i := strings.LastIndex(p, "#"); i >= 0 {
		p = p[:i]
	}
	return p
}

// groupDir is the directory of the file p cut to its first depth parts.
func groupDir(p string, depth int) string {
	dir := path.Dir(p)
	if dir == "." || depth == 0 {
		return "."
	}
	parts := strings.Split(dir, "/")
	return strings.Join(parts[:min(depth, len(parts))], "/")
}

// group groups the inputs at idx by directory: at the greatest depth
// that gives at most most groups (deeper directories merged into their
// parents), sorted by directory. Depth 0 is no groups: even the top
// directories are more than most.
func group(inputs []Input, idx []int, most int) (int, []Group) {
	deepest := 0
	for _, i := range idx {
		if d := path.Dir(inputPath(inputs[i].Name)); d != "." {
			deepest = max(deepest, strings.Count(d, "/")+1)
		}
	}
	depth := deepest
	for ; depth > 0; depth-- {
		dirs := map[string]bool{}
		for _, i := range idx {
			dirs[groupDir(inputPath(inputs[i].Name), depth)] = true
			if len(dirs) > most {
				break
			}
		}
		if len(dirs) <= most {
			break
		}
	}
	if depth == 0 {
		return 0, nil
	}
	return depth, groupsAt(inputs, idx, depth)
}

// groupsAt groups the inputs at idx by their directories cut to depth.
func groupsAt(inputs []Input, idx []int, depth int) []Group {
	members := map[string][]int{}
	for _, i := range idx {
		d := groupDir(inputPath(inputs[i].Name), depth)
		members[d] = append(members[d], i)
	}
	out := make([]Group, 0, len(members))
	for d, m := range members {
		out = append(out, Group{Dir: d, Files: len(m), Digest: groupDigest(inputs, m)})
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Dir, b.Dir) })
	return out
}

// describeGroup names a group of entry for people.
func describeGroup(entry, dir string, depth int) string {
	switch {
	case dir == ".":
		return fmt.Sprintf("%s%s in ./ (top level)", PatternInput, entry)
	case strings.Count(dir, "/")+1 >= depth:
		return fmt.Sprintf("%s%s under %s/", PatternInput, entry, dir)
	}
	return fmt.Sprintf("%s%s in %s/", PatternInput, entry, dir)
}
