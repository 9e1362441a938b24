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
	Groups []Group `json:"groups,omitempty"`
}

// Group is the inputs of a cache-on entry under one directory, less
// those of the entry's groups of directories below it: a file belongs to
// the group of the longest directory that holds it.
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
			r.Groups = groupsOf(inputs, p.Inputs, group(inputs, p.Inputs, groups))
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

// fileDir is the directory of the input in.
func fileDir(in string) string { return path.Dir(inputPath(in)) }

// child is the directory below dir on the way to sub, a directory
// inside dir.
func child(dir, sub string) string {
	rest := sub
	if dir != "." {
		rest = strings.TrimPrefix(sub, dir+"/")
	}
	first, _, _ := strings.Cut(rest, "/")
	return path.Join(dir, first)
}

// group chooses the directories that group the inputs at idx, at most
// most of them: from the whole tree (.), the group of the most files is
// split into its subdirectories while the groups stay at most most.
func group(inputs []Input, idx []int, most int) []string {
	type node struct {
		dir     string
		members []int
		done    bool
	}
	groups := []*node{{dir: ".", members: idx}}
	for {
		var g *node
		for _, n := range groups {
			if !n.done && (g == nil || len(n.members) > len(g.members)) {
				g = n
			}
		}
		if g == nil {
			break
		}
		g.done = true
		var own []int
		children := map[string][]int{}
		for _, i := range g.members {
			if d := fileDir(inputs[i].Name); d == g.dir {
				own = append(own, i)
			} else {
				c := child(g.dir, d)
				children[c] = append(children[c], i)
			}
		}
		count := len(groups) - 1 + len(children)
		if len(own) > 0 {
			count++
		}
		if len(children) == 0 || count > most {
			continue
		}
		g.members = own
		if len(own) == 0 {
			groups = slices.DeleteFunc(groups, func(n *node) bool { return n == g })
		}
		dirs := make([]string, 0, len(children))
		for d := range children {
			dirs = append(dirs, d)
		}
		slices.Sort(dirs)
		for _, d := range dirs {
			groups = append(groups, &node{dir: d, members: children[d]})
		}
	}
	dirs := make([]string, 0, len(groups))
	for _, n := range groups {
		dirs = append(dirs, n.dir)
	}
	slices.Sort(dirs)
	return dirs
}

// groupOf is the one of dirs that holds the file of input in: the
// longest, or "" if none does.
func groupOf(dirs []string, in string) string {
	for d := fileDir(in); ; d = path.Dir(d) {
		if _, ok := slices.BinarySearch(dirs, d); ok {
			return d
		}
		if d == "." || d == "/" {
			return ""
		}
	}
}

// groupsOf groups the inputs at idx by dirs (see groupOf), sorted by
// directory; an input that none holds (new since dirs were chosen) is
// grouped by its own directory.
func groupsOf(inputs []Input, idx []int, dirs []string) []Group {
	members := map[string][]int{}
	for _, i := range idx {
		d := groupOf(dirs, inputs[i].Name)
		if d == "" {
			d = fileDir(inputs[i].Name)
		}
		members[d] = append(members[d], i)
	}
	out := make([]Group, 0, len(members))
	for d, m := range members {
		out = append(out, Group{Dir: d, Files: len(m), Digest: groupDigest(inputs, m)})
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Dir, b.Dir) })
	return out
}

// describeGroup names the group dir of entry for people: "under dir/"
// when no other group of dirs lies below it, else "in dir/".
func describeGroup(entry, dir string, dirs []string) string {
	below := dir == "." && len(dirs) > 1
	for _, d := range dirs {
		below = below || strings.HasPrefix(d, dir+"/")
	}
	if below {
		return fmt.Sprintf("%s%s in %s/", PatternInput, entry, dir)
	}
	if dir == "." {
		return PatternInput + entry
	}
	return fmt.Sprintf("%s%s under %s/", PatternInput, entry, dir)
}
