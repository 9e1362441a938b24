package key

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// Bounds of a cache-on JSON selector (file.json#.jq.path).
const (
	// maxJSONInput bounds the JSON file a selector reads.
	maxJSONInput = 64 << 20
	// minSelectionBound is what the selected values may total, as
	// canonical JSON, at least: twice the file's size if that is more.
	minSelectionBound = 8 << 20
	// selectorTimeout bounds the time a selector takes: parsing its file,
	// running, writing what it selects.
	selectorTimeout = 10 * time.Second
	// selectorHeap bounds the heap a selector may grow meanwhile (see
	// watchHeap).
	selectorHeap = 1 << 30
)

var (
	errSelectorTimeout = errors.New("selector timeout")
	errSelectorHeap    = errors.New("selector heap")
)

// refused are the jq builtins whose result depends on more than the
// selected file, and why: a key must be decided by the files alone.
var refused = map[string]string{
	"now":               "reads the clock",
	"localtime":         "reads the time zone",
	"strflocaltime":     "reads the time zone",
	"env":               "reads the environment",
	"$ENV":              "reads the environment",
	"input":             "reads other input",
	"inputs":            "reads other input",
	"input_filename":    "reads other input",
	"input_line_number": "reads other input",
	"debug":             "writes to the log",
	"stderr":            "writes to the log",
}

// CheckSelector parses the jq selector of a cache-on entry, and refuses
// the builtins that read the clock, the time zone, the environment or
// other input (see refused).
func CheckSelector(selector string) error {
	_, err := parseSelector(selector)
	return err
}

func parseSelector(selector string) (*gojq.Query, error) {
	q, err := gojq.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("selector %s: %s", Preview(selector), clip(err.Error()))
	}
	var uses []string
	walkFuncs(reflect.ValueOf(q), func(name string) {
		if _, ok := refused[name]; ok && !slices.Contains(uses, name) {
			uses = append(uses, name)
		}
	})
	if len(uses) == 0 {
		return q, nil
	}
	var why []string
	for _, name := range uses {
		why = append(why, name+" ("+refused[name]+")")
	}
	all := slices.Sorted(maps.Keys(refused))
	return nil, fmt.Errorf("selector %s uses %s: a key is decided by the files alone, so the selector may not use %s",
		Preview(selector), strings.Join(why, ", "), strings.Join(all, ", "))
}

// walkFuncs calls fn with the name of each function and variable that the
// parsed query v (a gojq AST node, as a reflect.Value) refers to.
func walkFuncs(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkFuncs(v.Elem(), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkFuncs(v.Index(i), fn)
		}
	case reflect.Struct:
		if f, ok := v.Interface().(gojq.Func); ok {
			fn(f.Name)
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkFuncs(v.Field(i), fn)
			}
		}
	}
}

// jsonDigest hashes the canonical JSON of what the jq selector picks in
// the JSON file rel of the checkout.
func (ck *checkout) jsonDigest(ctx context.Context, rel string, sel *selector) (string, error) {
	b, err := ck.readRegular(ctx, rel, maxJSONInput)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("reading cache-on file %s: %w", rel, err)
		}
		return "", err
	}
	d, err := sel.digest(ctx, b, selectorHeap)
	if err != nil && ctx.Err() != nil {
		return "", fmt.Errorf("cache-on file %s: %w", rel, err)
	}
	return d, err
}

// A selector is a cache-on JSON selector, compiled.
type selector struct {
	text string
	code *gojq.Code
}

// compileSelector compiles the jq selector text (see CheckSelector), with
// no environment: $ENV and env are empty, should they get through.
func compileSelector(text string) (*selector, error) {
	q, err := parseSelector(text)
	if err != nil {
		return nil, err
	}
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, fmt.Errorf("selector %s: %s", Preview(text), clip(err.Error()))
	}
	return &selector{text, code}, nil
}

// selectDigest compiles the jq selector and hashes what it selects in the
// JSON doc (see selector.digest).
func selectDigest(ctx context.Context, doc []byte, text string) (string, error) {
	return selectDigestWithin(ctx, doc, text, selectorHeap)
}

// selectDigestWithin is selectDigest with a heap bound of heap bytes.
func selectDigestWithin(ctx context.Context, doc []byte, text string, heap uint64) (string, error) {
	sel, err := compileSelector(text)
	if err != nil {
		return "", err
	}
	return sel.digest(ctx, doc, heap)
}

// digest runs the selector on the JSON doc and hashes each value it
// yields as canonical JSON, length-prefixed. The values may total
// max(minSelectionBound, 2×len(doc)) bytes; parsing doc, running the
// selector and writing the values may take selectorTimeout and grow the
// heap by heap bytes.
func (sel *selector) digest(ctx context.Context, doc []byte, heap uint64) (string, error) {
	selector, code := sel.text, sel.code
	run, cancel := context.WithTimeoutCause(ctx, selectorTimeout, errSelectorTimeout)
	defer cancel()
	run, stop := watchHeap(run, heap)
	defer stop()
	bounded := func(what string, err error) error {
		switch cause := context.Cause(run); {
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case errors.Is(cause, errSelectorTimeout):
			return fmt.Errorf("%s ran longer than %v: select from a smaller file, or select less", what, selectorTimeout)
		case errors.Is(cause, errSelectorHeap):
			return fmt.Errorf("%s needs more than %s of memory: select from a smaller file, or select less", what, mib(int64(heap)))
		}
		return err
	}

	v, err := decodeJSON(doc, run.Err)
	if err != nil {
		if isSyntax(err) {
			return "", fmt.Errorf("is not JSON: %w", err)
		}
		return "", bounded("parsing the JSON", err)
	}
	bound := max(minSelectionBound, 2*len(doc))
	h := sha256.New()
	enc := canonical{check: run.Err}
	var frame []byte
	total := 0
	iter := code.RunWithContext(run, v)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			what := "selector " + Preview(selector)
			return "", bounded(what, fmt.Errorf("%s: %s", what, clip(err.Error())))
		}
		enc.reset(bound - total)
		if err := enc.value(v); err != nil {
			switch {
			case errors.Is(err, errTooBig):
				return "", fmt.Errorf("selector %s selects more than %s of JSON: select less", Preview(selector), mib(int64(bound)))
			case errors.Is(err, errNotUTF8):
				return "", fmt.Errorf("selector %s yields a string that is not valid UTF-8 (as @base64d can), which JSON cannot carry exactly: select the encoded value instead", Preview(selector))
			}
			return "", bounded("selector "+Preview(selector), err)
		}
		frame = strconv.AppendInt(frame[:0], int64(len(enc.buf)), 10)
		frame = append(frame, ':')
		h.Write(frame)
		h.Write(enc.buf)
		total += len(frame) + len(enc.buf)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// watchHeap returns a context that is cancelled, with errSelectorHeap as
// its cause, once the heap holds limit bytes more than twice what it held
// at the start (garbage may double it between collections); stop ends the
// watch. The heap is the process's: the bound is coarse.
func watchHeap(ctx context.Context, limit uint64) (watched context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	start := heap()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				if heap() > 2*start+limit {
					cancel(errSelectorHeap)
					return
				}
			}
		}
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
	}
}

var (
	errTooBig  = errors.New("too big")
	errNotUTF8 = errors.New("not UTF-8")
)

// canonical writes a value from gojq as json.Marshal does (object keys
// sorted, no spaces, HTML characters escaped), but stops at a bound, and
// at check's error (called every 1024 values).
type canonical struct {
	buf   []byte
	limit int
	check func() error
	count int
}

func (c *canonical) reset(limit int) {
	c.buf, c.limit = c.buf[:0], limit
}

func (c *canonical) value(v any) error {
	if c.count++; c.count%1024 == 0 && c.check != nil {
		if err := c.check(); err != nil {
			return err
		}
	}
	switch v := v.(type) {
	case map[string]any:
		switch {
		case v == nil:
			return c.raw([]byte("null"))
		case len(v) == 0:
			return c.raw([]byte("{}"))
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		c.buf = append(c.buf, '{')
		for i, k := range keys {
			if i > 0 {
				c.buf = append(c.buf, ',')
			}
			if err := c.leaf(k); err != nil {
				return err
			}
			c.buf = append(c.buf, ':')
			if err := c.value(v[k]); err != nil {
				return err
			}
		}
		return c.raw([]byte("}"))
	case []any:
		if v == nil {
			return c.raw([]byte("null"))
		}
		c.buf = append(c.buf, '[')
		for i, e := range v {
			if i > 0 {
				c.buf = append(c.buf, ',')
			}
			if err := c.value(e); err != nil {
				return err
			}
		}
		return c.raw([]byte("]"))
	default:
		return c.leaf(v)
	}
}

// leaf writes a value that holds no other.
func (c *canonical) leaf(v any) error {
	switch v := v.(type) {
	case nil:
		return c.raw([]byte("null"))
	case bool:
		return c.raw(strconv.AppendBool(nil, v))
	case int:
		return c.raw(strconv.AppendInt(nil, int64(v), 10))
	case string:
		if !utf8.ValidString(v) { // json.Marshal would fold it to U+FFFD
			return errNotUTF8
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.raw(b)
}

func (c *canonical) raw(b []byte) error {
	c.buf = append(c.buf, b...)
	if len(c.buf) > c.limit {
		return errTooBig
	}
	return nil
}
