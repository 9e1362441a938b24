package key

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// synthetic is a key of a Dockerfile and a build arg, and one cache-on
// entry per pattern, each matching the files names gives it.
func synthetic(patterns map[string][]string, digestOf func(string) string) Key {
	k := Key{Tag: "t", Inputs: []Input{{"dockerfile", "sha256:d"}, {"build-arg A", "sha256:a"}}}
	at := map[string]int{}
	var entries []string
	for e := range patterns {
		entries = append(entries, e)
	}
	slices.Sort(entries)
	var all []string
	for _, e := range entries {
		for _, f := range patterns[e] {
			if _, ok := at[f]; !ok {
				at[f] = -1
				all = append(all, f)
			}
		}
	}
	slices.Sort(all)
	for _, f := range all {
		at[f] = len(k.Inputs)
		k.Inputs = append(k.Inputs, Input{"file " + f, digestOf(f)})
	}
	for _, e := range entries {
		p := Pattern{Entry: e}
		for _, f := range patterns[e] {
			p.Inputs = append(p.Inputs, at[f])
		}
		slices.Sort(p.Inputs)
		k.CacheOn = append(k.CacheOn, p)
	}
	return k
}

// treeFiles names n files under top/dNN/sub/, spread over dirs directories.
func treeFiles(top string, dirs, n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, fmt.Sprintf("%s/d%02d/sub/f%06d.go", top, i%dirs, i))
	}
	slices.Sort(out)
	return out
}

func decode(t *testing.T, b []byte) []Recorded {
	t.Helper()
	var r []Recorded
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("record is not JSON: %v", err)
	}
	return r
}

func TestRecordSmallIsPerFile(t *testing.T) {
	t.Parallel()
	k := synthetic(map[string][]string{"src/*.go": {"src/a.go", "src/b.go"}, "go.sum": {"go.sum"}}, func(f string) string { return "sha256:" + f })
	want, _ := json.Marshal(PublishedInputs(k.Inputs))
	if got := Record(k); string(got) != string(want) {
		t.Errorf("Record of small entries = %s, want the per-file record %s", got, want)
	}
	// A key without cache-on membership (built by hand) records per file too.
	k.CacheOn = nil
	if got := Record(k); string(got) != string(want) {
		t.Errorf("Record without CacheOn = %s, want %s", got, want)
	}
}

func TestRecordBounded(t *testing.T) {
	t.Parallel()
	same := func(string) string { return "sha256:" + strings.Repeat("0", 64) }
	long := strings.Repeat("a-rather-long-directory-name/", 30)
	cases := map[string]map[string][]string{
		"7,004 files":   {"src/**/*.go": treeFiles("src", 7, 7004)},
		"100,000 files": {"src/**/*.go": treeFiles("src", 100, 100000), "go.sum": {"go.sum"}},
		"long paths":    {long + "**": treeFiles(long, 40, 20000)},
	}
	many := map[string][]string{} // 400 small entries of long names
	for i := range 400 {
		dir := fmt.Sprintf("%s%03d", long, i)
		many[dir+"/*"] = treeFiles(dir, 2, 10)
	}
	cases["400 entries of long names"] = many
	for name, patterns := range cases {
		k := synthetic(patterns, same)
		b := Record(k)
		if len(b) > MaxRecord {
			t.Errorf("%s: record is %d bytes, over %d", name, len(b), MaxRecord)
		}
		for _, r := range decode(t, b) {
			if len(r.Groups) > MaxGroups {
				t.Errorf("%s: %s has %d groups, over %d", name, r.Name, len(r.Groups), MaxGroups)
			}
		}
	}
}

func TestRecordGroups(t *testing.T) {
	t.Parallel()
	files := treeFiles("src", 10, 1000)
	files = append(files, "src/top.go")
	slices.Sort(files)
	k := synthetic(map[string][]string{"src/**/*.go": files}, func(f string) string { return "sha256:" + f })
	rec := decode(t, Record(k))
	last := rec[len(rec)-1]
	if last.Name != "cache-on src/**/*.go" || last.Files != 1001 {
		t.Fatalf("entry = %s, %d files; want cache-on src/**/*.go, 1001 files", last.Name, last.Files)
	}
	var dirs []string
	for _, g := range last.Groups {
		dirs = append(dirs, g.Dir)
	}
	want := []string{"src"}
	for i := range 10 {
		want = append(want, fmt.Sprintf("src/d%02d/sub", i))
	}
	if !reflect.DeepEqual(dirs, want) {
		t.Errorf("groups = %v, want %v", dirs, want)
	}
	// 40 directories side by side are more than MaxGroups: one group.
	k = synthetic(map[string][]string{"src/**/*.go": treeFiles("src", 40, 1000)}, func(f string) string { return "sha256:" + f })
	rec = decode(t, Record(k))
	if s := Summaries(k); len(s) != 1 || s[0].Files != 1000 || s[0].Digest != rec[len(rec)-1].Digest {
		t.Errorf("Summaries = %+v", s)
	}
	if last := rec[len(rec)-1]; len(last.Groups) != 1 || last.Groups[0].Dir != "src" || last.Groups[0].Files != 1000 {
		t.Errorf("40 directories: groups %+v; want one group src of 1000", last.Groups)
	}
	// A wide tree beside a narrow one: the narrow one is split, the wide
	// one stays whole.
	mixed := append(treeFiles("vendor", 100, 2000), treeFiles("app", 4, 400)...)
	slices.Sort(mixed)
	rec = decode(t, Record(synthetic(map[string][]string{"**/*.go": mixed}, func(f string) string { return "sha256:" + f })))
	dirs = nil
	for _, g := range rec[len(rec)-1].Groups {
		dirs = append(dirs, g.Dir)
	}
	if want := []string{"app/d00/sub", "app/d01/sub", "app/d02/sub", "app/d03/sub", "vendor"}; !reflect.DeepEqual(dirs, want) {
		t.Errorf("mixed tree: groups %v, want %v", dirs, want)
	}
}

func TestChangedGroups(t *testing.T) {
	t.Parallel()
	files := treeFiles("src", 10, 1000)
	before := synthetic(map[string][]string{"src/**/*.go": files, "go.sum": {"go.sum"}}, func(f string) string { return "sha256:" + f })
	changed := files[123]
	after := synthetic(map[string][]string{"src/**/*.go": files, "go.sum": {"go.sum"}}, func(f string) string {
		if f == changed {
			return "sha256:edited"
		}
		return "sha256:" + f
	})
	after.Tag = "t2"
	dir := filepath.Dir(changed)
	want := []Change{{Modified, "cache-on src/**/*.go under " + dir + "/"}}
	if got := Changed(string(Record(before)), before.Tag, after); !reflect.DeepEqual(got, want) {
		t.Errorf("one file edited: Changed = %v, want %v", got, want)
	}
	if got := Changed(string(Record(before)), before.Tag, before); got != nil {
		t.Errorf("nothing changed: Changed = %v", got)
	}
	// A new directory is a new group.
	more := append(append([]string{}, files...), "src/new/x.go")
	slices.Sort(more)
	grown := synthetic(map[string][]string{"src/**/*.go": more, "go.sum": {"go.sum"}}, func(f string) string { return "sha256:" + f })
	got := Changed(string(Record(before)), before.Tag, grown)
	if want := []Change{{Added, "cache-on src/**/*.go under src/new/"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("new directory: Changed = %v, want %v", got, want)
	}
	// A record without groups names the entry.
	rec := decode(t, Record(before))
	for i := range rec {
		rec[i].Groups = nil
	}
	b, _ := json.Marshal(rec)
	if got := Changed(string(b), before.Tag, after); !reflect.DeepEqual(got, []Change{{Modified, "cache-on src/**/*.go"}}) {
		t.Errorf("no groups: Changed = %v", got)
	}
}

// An image recorded by an older version lists every file: its entries are
// compared file by file, folded into the new groups when the entry is
// large now.
func TestChangedOldPerFileRecord(t *testing.T) {
	t.Parallel()
	old := func(k Key) string {
		b, _ := json.Marshal(PublishedInputs(k.Inputs))
		return string(b)
	}
	digestOf := func(edited string) func(string) string {
		return func(f string) string {
			if f == edited {
				return "sha256:edited"
			}
			return "sha256:" + f
		}
	}
	small := []string{"src/a.go", "src/b/c.go"}
	before := synthetic(map[string][]string{"src/**/*.go": small}, digestOf(""))
	after := synthetic(map[string][]string{"src/**/*.go": small}, digestOf("src/b/c.go"))
	if got, want := Changed(old(before), "t0", after), []Change{{Modified, "file src/b/c.go"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("small: Changed = %v, want %v", got, want)
	}

	files := treeFiles("src", 10, 1000)
	before = synthetic(map[string][]string{"src/**/*.go": files, "go.sum": {"go.sum"}}, digestOf(""))
	after = synthetic(map[string][]string{"src/**/*.go": files[1:], "go.sum": {"go.sum"}}, digestOf(files[500]))
	want := []Change{
		{Modified, "cache-on src/**/*.go under " + filepath.Dir(files[0]) + "/"},
		{Modified, "cache-on src/**/*.go under " + filepath.Dir(files[500]) + "/"},
	}
	if filepath.Dir(files[0]) == filepath.Dir(files[500]) {
		want = want[:1]
	}
	if got := Changed(old(before), "t0", after); !reflect.DeepEqual(got, want) {
		t.Errorf("large: Changed = %v, want %v", got, want)
	}
	// A file no entry matches any more is gone, as before.
	if got := Changed(old(synthetic(map[string][]string{"x/*": {"x/y"}}, digestOf(""))), "t0", synthetic(map[string][]string{"z/*": {"z/y"}}, digestOf(""))); !reflect.DeepEqual(got, []Change{{Removed, "file x/y"}, {Added, "file z/y"}}) {
		t.Errorf("renamed entry: Changed = %v", got)
	}
}

// Compute records which inputs each cache-on entry matched, overlaps
// included, without changing the key.
func TestComputeCacheOnMembership(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"a/x.json", "a/y.go", "b/z.go"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(`{"v":1}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k, err := Compute(t.Context(), Spec{Dir: dir, DockerfileInline: "FROM scratch\n", Platform: "linux/amd64",
		CacheOn: []string{"**/*.go", " a/* ", "a/x.json#.v"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := func(p Pattern) []string {
		var out []string
		for _, i := range p.Inputs {
			out = append(out, k.Inputs[i].Name)
		}
		return out
	}
	want := map[string][]string{
		"**/*.go":     {"file a/y.go", "file b/z.go"},
		"a/*":         {"file a/x.json", "file a/y.go"},
		"a/x.json#.v": {"json a/x.json#.v"},
	}
	if len(k.CacheOn) != 3 {
		t.Fatalf("CacheOn = %+v", k.CacheOn)
	}
	for _, p := range k.CacheOn {
		if !reflect.DeepEqual(names(p), want[p.Entry]) {
			t.Errorf("%s matched %v, want %v", p.Entry, names(p), want[p.Entry])
		}
	}
	k.CacheOn = nil
	b, _ := json.Marshal(k)
	if strings.Contains(string(b), "CacheOn") {
		t.Errorf("the key's JSON carries CacheOn: %s", b)
	}
}
