package key

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestSelectedValuesExact: the pairs of documents that gave the
// same key now give two, or an error naming the file.
func TestSelectedValuesExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, a, b, selector string
		err                  string // an error for both, naming the file
	}{
		{name: "integers above 2^53", a: `100000000000000000001`, b: `100000000000000000000`, selector: "."},
		{name: "integers above 2^53 in an object", a: `{"n":100000000000000000001}`, b: `{"n":100000000000000000000}`, selector: ".n"},
		{name: "integers that round to one float", a: `1152921504606846976`, b: `1152921504606847000`, selector: "."},
		{name: "integers above 2^63", a: `{"n":-99999999999999999999999999}`, b: `{"n":-99999999999999999999999998}`, selector: "."},
		{name: "integers past a float's range", a: "[1" + strings.Repeat("0", 400) + "]", b: "[1" + strings.Repeat("0", 399) + "1]", selector: ".[0]"},
		{name: "arithmetic on big integers", a: `{"n":9007199254740993}`, b: `{"n":9007199254740992}`, selector: ".n + 1"},
		{name: "big integers as strings", a: `{"n":9007199254740993}`, b: `{"n":9007199254740992}`, selector: ".n | tostring"},
		{name: "invalid UTF-8", a: "{\"a\":\"\xff\"}", b: "{\"a\":\"\xfe\"}", selector: ".a", err: "invalid UTF-8 (a key hashes strings byte for byte: save the file as UTF-8) at byte 6"},
		{name: "invalid UTF-8 outside the selection", a: "{\"a\":1,\"b\":\"\xff\"}", b: "{\"a\":1,\"b\":\"\xfe\"}", selector: ".a", err: "invalid UTF-8"},
		{name: "invalid UTF-8 a selector makes", a: `{"a":"/w=="}`, b: `{"a":"/g=="}`, selector: ".a|@base64d", err: "yields a string that is not valid UTF-8 (as @base64d can)"},
		{name: "invalid UTF-8 as an object key", a: `{"a":"/w=="}`, b: `{"a":"/g=="}`, selector: "{(.a|@base64d): 1}", err: "not valid UTF-8"},
		{name: "valid UTF-8 a selector decodes", a: `{"a":"w6k="}`, b: `{"a":"w6g="}`, selector: ".a|@base64d"},
		{name: "lone surrogates", a: `{"a":"\ud800"}`, b: `{"a":"\udbff"}`, selector: ".a", err: "half of a UTF-16 surrogate pair"},
		{name: "low surrogate first", a: `{"a":"\udc00\ud800"}`, b: `{"a":"\udfff"}`, selector: ".", err: "half of a UTF-16 surrogate pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			digestOf := func(doc string) (string, error) {
				dir := testenv.Tree(t, map[string]string{"v.json": doc})
				s := Spec{Dir: dir, DockerfileInline: "FROM scratch\n", Platform: "linux/amd64", CacheOn: []string{"v.json#" + tt.selector}}
				k, err := Compute(t.Context(), s, nil)
				if err != nil {
					return "", err
				}
				return k.Inputs[len(k.Inputs)-1].Digest, nil
			}
			a, aerr := digestOf(tt.a)
			b, berr := digestOf(tt.b)
			if tt.err == "" {
				if aerr != nil || berr != nil {
					t.Fatalf("errors %v, %v", aerr, berr)
				}
				if a == b {
					t.Errorf("%s and %s both give %s", tt.a, tt.b, a)
				}
				return
			}
			for _, err := range []error{aerr, berr} {
				if !isConfigError(err) || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "cache-on v.json") {
					t.Errorf("error %v, want a ConfigError naming v.json and %q", err, tt.err)
				}
			}
		})
	}
}

// TestSelectedValuesAsBefore: documents that were already hashed exactly
// keep their digests (that of the first version, on json.Unmarshal and
// json.Marshal), however their numbers are written.
func TestSelectedValuesAsBefore(t *testing.T) {
	t.Parallel()
	docs := []string{
		`{"deps":{"x":"1.0","y":"2.0"},"version":"1.2.3"}`,
		`[0, -0, 1, -1, 1.0, 1.5, 1e2, 1E-7, 1e21, 1e300, -2.5e-300, 9007199254740992, -9007199254740992, 123456789012, 0.1]`,
		`[100000000000000000000, 1.152921504606846976e18, 1e21, 4.722366482869645213696e21, 1e22, -1e20]`,
		`{"s":"<&> \u2028 \u00e9 é \ud83d\ude00 😀 \" \\ \/ \b\f\n\r\t \u0000","":null,"t":true,"f":false,"e":{},"a":[]}`,
		`{"a":1,"a":2}`,
		"  \n\t{ \"spaced\" : [ 1 , 2 ] }\r\n",
		`"top"`, `42`, `null`,
	}
	selectors := []string{".", ".[]?", "tostring", "tojson", "[.. | numbers] | add", "[.. | numbers | . * 3]", "[.. | numbers | tostring]", "map_values(type)?", "keys?"}
	dir := t.TempDir()
	for i, doc := range docs {
		p := filepath.Join(dir, "doc.json")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, sel := range selectors {
			want, werr := referenceJSONDigest(p, sel)
			got, gerr := selectDigest(t.Context(), []byte(doc), sel)
			if (werr == nil) != (gerr == nil) || got != want {
				t.Errorf("doc %d, selector %s: %s, %v; before %s, %v", i, sel, got, gerr, want, werr)
			}
		}
	}
}

// TestImpureSelectorsRefused: builtins that read the clock, the time
// zone, the environment or other input are refused, with the list; pure
// time builtins are not.
func TestImpureSelectorsRefused(t *testing.T) {
	t.Parallel()
	refuse := map[string]string{
		"now":                                  "now (reads the clock)",
		".t | localtime":                       "localtime (reads the time zone)",
		`.t | strflocaltime("%H")`:             "strflocaltime (reads the time zone)",
		"[now, localtime]":                     "now (reads the clock), localtime (reads the time zone)",
		"$ENV.HOME":                            "$ENV (reads the environment)",
		"env | length":                         "env (reads the environment)",
		"input":                                "input (reads other input)",
		"[inputs]":                             "inputs (reads other input)",
		"input_filename":                       "input_filename (reads other input)",
		`def f: now; .a | f`:                   "now (reads the clock)",
		`.a as $x | {b: (if $x then now end)}`: "now (reads the clock)",
		`"\(now)"`:                             "now (reads the clock)",
		`try error catch now`:                  "now (reads the clock)",
		"debug":                                "debug (writes to the log)",
	}
	for sel, want := range refuse {
		err := CheckSelector(sel)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "may not use $ENV, debug, env, input") {
			t.Errorf("CheckSelector(%s) = %v, want %q and the list", sel, err, want)
		}
		if _, err := selectDigest(t.Context(), []byte(`{"a":1,"t":0}`), sel); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("selectDigest(%s) = %v, want %q", sel, err, want)
		}
	}
	for _, sel := range []string{".t | gmtime", ".t | gmtime | mktime", `.t | strftime("%Y")`, `.t | todate`, `"2015-03-05T23:51:47Z" | strptime("%Y-%m-%dT%H:%M:%SZ") | mktime`, "$__loc__", `getpath(["a"])`, `.a | halt_error`, `{now: 1} | .now`, `"now"`} {
		if err := CheckSelector(sel); err != nil {
			t.Errorf("CheckSelector(%s) = %v, want nil", sel, err)
		}
	}
	// A pure time builtin gives the same digest whatever TZ says.
	a, err := selectDigest(t.Context(), []byte(`{"t":1425599621}`), `.t | gmtime | strftime("%Y-%m-%dT%H")`)
	if err != nil || a != digest([]byte(`15:"2015-03-05T23"`)) {
		t.Errorf("gmtime and strftime: %s, %v", a, err)
	}
}

// TestErrorsQuoteValuesShort: a value quoted in an error is cut to a
// prefix and its length: the 1,000,000-digit number and
// halt_error of a 60 MB string, a huge selector. It runs alone: its
// documents would move the heap bound of the selector tests.
func TestErrorsQuoteValuesShort(t *testing.T) {
	t.Cleanup(runtime.GC) // as TestParseBounds
	million := "1" + strings.Repeat("0", 999_999)
	tests := []struct {
		name, doc, selector, want string
		cut                       bool // the message says how long the value is
	}{
		{"1,000,000-digit number in error()", "[" + million + "]", ".[0] | error", "1000000", true},
		{"1,000,000-digit number out of range", "[" + million + ".5]", ".", "is out of range", true},
		{"1,000,000-digit number in a type error", "[" + million + "]", ".[0] | keys", "keys cannot be applied to: number (1000", false},
		{"halt_error of a 60 MB string", `{"s":"` + strings.Repeat("x", 60<<20) + `"}`, ".s | halt_error", "xxxx", true},
		{"a 1 MB selector", `{}`, `"` + strings.Repeat("y", 1<<20) + `" | error`, "yyyy", true},
		{"a 1 MB selector that does not parse", `{}`, strings.Repeat("[", 1<<20), "[[[[", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testenv.Tree(t, map[string]string{"v.json": tt.doc})
			s := Spec{Dir: dir, DockerfileInline: "FROM scratch\n", Platform: "linux/amd64", CacheOn: []string{"v.json#" + tt.selector}}
			_, err := Compute(t.Context(), s, nil)
			if err == nil || !isConfigError(err) {
				t.Fatalf("error %.200v, want a ConfigError", err)
			}
			if msg := err.Error(); len(msg) > 1000 || !strings.Contains(msg, tt.want) || tt.cut && !strings.Contains(msg, "bytes") {
				t.Errorf("error of %d bytes, want under 1000 with %q and a length:\n%.1200s", len(msg), tt.want, msg)
			}
		})
	}
}

// TestParseBounds: parsing runs under the selector's bounds: the issue's
// 63 MB [{},{},…] with "." finishes or stops at the time or heap bound;
// when the context ends, it stops at once, naming the file and the phase.
// It runs alone, as TestErrorsQuoteValuesShort.
func TestParseBounds(t *testing.T) {
	t.Cleanup(runtime.GC) // the heap bounds of the tests that follow count from what is left
	var b bytes.Buffer
	b.WriteByte('[')
	for b.Len() < 63<<20 {
		b.WriteString("{},")
	}
	b.WriteString("{}]")
	doc := b.Bytes()

	start := time.Now()
	_, err := selectDigest(t.Context(), doc, ".")
	took := time.Since(start)
	if took > selectorTimeout+2*time.Second || err != nil && !strings.Contains(err.Error(), "ran longer than 10s") && !strings.Contains(err.Error(), "of memory") {
		t.Errorf("after %v: %v; want a result or a bound within %v", took, err, selectorTimeout)
	}
	t.Logf("%v after %v", err, took)

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = selectDigest(ctx, doc, ".")
	if took := time.Since(start); !errors.Is(err, context.Canceled) || err.Error() != "parsing the JSON: context canceled" || took > time.Second {
		t.Errorf("cancelled at 100ms: %v after %v, want the parse to stop at once", err, took)
	}

	dir := testenv.Tree(t, map[string]string{"big.json": string(doc)})
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start = time.Now()
	s := Spec{Dir: dir, DockerfileInline: "FROM scratch\n", Platform: "linux/amd64", CacheOn: []string{"big.json#."}}
	_, err = Compute(ctx, s, nil)
	took = time.Since(start)
	if !errors.Is(err, context.Canceled) || isConfigError(err) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
	if took > 300*time.Millisecond+2*time.Second {
		t.Errorf("returned %v after the start, cancelled at 300ms", took)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "computing the key: ") || !strings.Contains(msg, "big.json") {
		t.Errorf("error %q does not name the phase and the file", msg)
	}
	t.Logf("%v after %v", err, took)
}

// TestCancelNamesThePhase: a cancelled key says where it stopped.
func TestCancelNamesThePhase(t *testing.T) {
	t.Parallel()
	dir := testenv.Tree(t, keyTree())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		spec Spec
		want string
	}{
		{keySpec(dir), "computing the key: context canceled"},
		{Spec{Dir: dir, DockerfileInline: "FROM scratch\n"}, "computing the key: context canceled"},
	}
	for _, tt := range tests {
		if _, err := Compute(ctx, tt.spec, nil); err == nil || err.Error() != tt.want {
			t.Errorf("error %v, want %q", err, tt.want)
		}
	}
	// Each step names itself.
	s := keySpec(dir)
	if _, err := s.dockerfileContent(ctx); err == nil || err.Error() != `reading dockerfile "Dockerfile": context canceled` {
		t.Errorf("dockerfileContent: %v", err)
	}
	ck, err := openCheckout(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if _, err := ck.fileDigest(ctx, "yarn.lock", make([]byte, 10)); err == nil || err.Error() != "reading cache-on file yarn.lock: context canceled" {
		t.Errorf("fileDigest: %v", err)
	}
	if _, err := ck.jsonDigest(ctx, "config.json", &selector{text: "."}); err == nil || err.Error() != "reading cache-on file config.json: context canceled" {
		t.Errorf("jsonDigest: %v", err)
	}
	s = Spec{Dir: dir, DockerfileInline: "FROM scratch\n", CacheOn: []string{"**/package.json"}}
	if _, _, err := s.cacheOnInputs(ctx); err == nil || !strings.Contains(err.Error(), `listing the files of cache-on "**/package.json": context canceled`) {
		t.Errorf("cacheOnInputs: %v", err)
	}
}
