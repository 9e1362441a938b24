package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/itchyny/gojq"
)

// Bounds of a cache-on JSON selector (file.json#.jq.path).
const (
	// maxJSONInput bounds the JSON file a selector reads.
	maxJSONInput = 64 << 20
	// minSelectionBound is what the selected values may total, as
	// canonical JSON, at least: twice the file's size if that is more.
	minSelectionBound = 8 << 20
	// selectorTimeout bounds the time a selector runs.
	selectorTimeout = 10 * time.Second
)

var errSelectorTimeout = errors.New("selector timeout")

// jsonDigest hashes the canonical JSON of what the jq selector picks in
// the JSON file rel of the checkout.
func (ck *checkout) jsonDigest(ctx context.Context, rel, selector string) (string, error) {
	b, err := ck.readRegular(ctx, rel, maxJSONInput)
	if err != nil {
		return "", err
	}
	return selectDigest(ctx, b, selector)
}

// selectDigest runs the jq selector on the JSON doc, with no environment
// ($ENV and env are empty), and hashes each value it yields as canonical
// JSON, length-prefixed. The values may total max(minSelectionBound,
// 2×len(doc)) bytes, and the selector may run selectorTimeout.
func selectDigest(ctx context.Context, doc []byte, selector string) (string, error) {
	q, err := gojq.Parse(selector)
	if err != nil {
		return "", fmt.Errorf("selector %q: %v", selector, err)
	}
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return "", fmt.Errorf("selector %q: %v", selector, err)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return "", fmt.Errorf("is not JSON: %v", err)
	}
	run, cancel := context.WithTimeoutCause(ctx, selectorTimeout, errSelectorTimeout)
	defer cancel()
	bound := max(minSelectionBound, 2*len(doc))
	h := sha256.New()
	var enc canonical
	var frame []byte
	total := 0
	iter := code.RunWithContext(run, v)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			if ctx.Err() == nil && errors.Is(context.Cause(run), errSelectorTimeout) {
				return "", fmt.Errorf("selector %q ran longer than %v: select less", selector, selectorTimeout)
			}
			return "", fmt.Errorf("selector %q: %w", selector, err)
		}
		enc.reset(bound - total)
		if err := enc.value(v); err != nil {
			if errors.Is(err, errTooBig) {
				return "", fmt.Errorf("selector %q selects more than %s of JSON: select less", selector, mib(int64(bound)))
			}
			return "", err
		}
		frame = strconv.AppendInt(frame[:0], int64(len(enc.buf)), 10)
		frame = append(frame, ':')
		h.Write(frame)
		h.Write(enc.buf)
		total += len(frame) + len(enc.buf)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

var errTooBig = errors.New("too big")

// canonical writes a value from gojq as json.Marshal does (object keys
// sorted, no spaces, HTML characters escaped), but stops at a bound.
type canonical struct {
	buf   []byte
	limit int
}

func (c *canonical) reset(limit int) {
	c.buf, c.limit = c.buf[:0], limit
}

func (c *canonical) value(v any) error {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return c.raw([]byte("null"))
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
