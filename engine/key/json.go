package key

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is the nesting encoding/json accepts.
const maxDepth = 10000

// decodeJSON parses doc into the values json.Unmarshal gives an any
// (map[string]any, []any, string, bool, nil, numbers), but exact, so that
// no two documents that differ in a value give the same one:
//   - a string is its bytes: invalid UTF-8, and a \u escape of half a
//     surrogate pair, are errors where json.Unmarshal writes U+FFFD;
//   - a number written as an integer is an int, or a json.Number of its
//     digits past the int's range (gojq takes both, and computes on the
//     second as a *big.Int): its digits are hashed as written, where
//     json.Unmarshal rounds past 2^53 (100000000000000000001 became
//     100000000000000000000);
//   - a number with a fraction or an exponent is a float64, as
//     json.Unmarshal gives it, and "-0" too.
//
// check is called every 1024 values: parsing stops at its error.
func decodeJSON(doc []byte, check func() error) (any, error) {
	if !utf8.Valid(doc) {
		i := 0
		for i < len(doc) {
			r, w := utf8.DecodeRune(doc[i:])
			if r == utf8.RuneError && w == 1 {
				break
			}
			i += w
		}
		return nil, &syntaxError{"invalid UTF-8 (a key hashes strings byte for byte: save the file as UTF-8)", i}
	}
	d := decoder{doc: doc, check: check}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.space(); d.i < len(d.doc) {
		return nil, d.unexpected("after the top-level value")
	}
	return v, nil
}

// syntaxError is a problem with the document at a byte offset.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.offset) }

type decoder struct {
	doc   []byte
	i     int
	count int
	check func() error
	empty map[string]any // every {} of the document: gojq copies a value it did not make before it changes it
}

func (d *decoder) space() {
	for d.i < len(d.doc) {
		switch d.doc[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) unexpected(context string) error {
	if d.i >= len(d.doc) {
		return &syntaxError{"unexpected end of JSON input", d.i}
	}
	r, _ := utf8.DecodeRune(d.doc[d.i:])
	return &syntaxError{fmt.Sprintf("invalid character %q %s", r, context), d.i}
}

func (d *decoder) value(depth int) (any, error) {
	if d.count++; d.count%1024 == 0 && d.check != nil {
		if err := d.check(); err != nil {
			return nil, err
		}
	}
	if depth > maxDepth {
		return nil, &syntaxError{fmt.Sprintf("nested more than %d deep", maxDepth), d.i}
	}
	if d.i >= len(d.doc) {
		return nil, d.unexpected("")
	}
	switch c := d.doc[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.string()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	for _, lit := range literals {
		if len(d.doc)-d.i >= len(lit.s) && string(d.doc[d.i:d.i+len(lit.s)]) == lit.s {
			d.i += len(lit.s)
			return lit.v, nil
		}
	}
	return nil, d.unexpected("looking for the beginning of a value")
}

var literals = []struct {
	s string
	v any
}{{"true", true}, {"false", false}, {"null", nil}}

func (d *decoder) object(depth int) (any, error) {
	d.i++ // {
	d.space()
	if d.i < len(d.doc) && d.doc[d.i] == '}' {
		d.i++
		if d.empty == nil {
			d.empty = map[string]any{}
		}
		return d.empty, nil
	}
	m := map[string]any{}
	for {
		if d.i >= len(d.doc) || d.doc[d.i] != '"' {
			return nil, d.unexpected("looking for the beginning of an object key")
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if d.space(); d.i >= len(d.doc) || d.doc[d.i] != ':' {
			return nil, d.unexpected("after an object key")
		}
		d.i++
		d.space()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k.(string)] = v // the last of duplicate keys, as json.Unmarshal
		d.space()
		if d.i < len(d.doc) && d.doc[d.i] == ',' {
			d.i++
			d.space()
			continue
		}
		if d.i < len(d.doc) && d.doc[d.i] == '}' {
			d.i++
			return m, nil
		}
		return nil, d.unexpected("after an object value")
	}
}

func (d *decoder) array(depth int) (any, error) {
	a := []any{}
	d.i++ // [
	d.space()
	if d.i < len(d.doc) && d.doc[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.space()
		if d.i < len(d.doc) && d.doc[d.i] == ',' {
			d.i++
			d.space()
			continue
		}
		if d.i < len(d.doc) && d.doc[d.i] == ']' {
			d.i++
			return a, nil
		}
		return nil, d.unexpected("after an array element")
	}
}

// string reads a string whose opening quote is at d.i. The document is
// valid UTF-8 (decodeJSON checked it).
func (d *decoder) string() (any, error) {
	d.i++
	start := d.i
	for d.i < len(d.doc) { // the common case: no escapes
		c := d.doc[d.i]
		if c == '"' {
			s := string(d.doc[start:d.i])
			d.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.i++
	}
	b := append([]byte(nil), d.doc[start:d.i]...)
	for d.i < len(d.doc) {
		c := d.doc[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), nil
		case c < 0x20:
			return nil, &syntaxError{fmt.Sprintf("invalid character %q in a string", rune(c)), d.i}
		case c != '\\':
			b = append(b, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.doc) {
			break
		}
		esc := d.doc[d.i+1]
		if e, ok := unescape(esc); ok {
			b = append(b, e)
			d.i += 2
			continue
		}
		if esc != 'u' {
			return nil, &syntaxError{fmt.Sprintf("invalid escape \\%c in a string", rune(esc)), d.i}
		}
		r, ok := d.hex4(d.i + 2)
		if !ok {
			return nil, &syntaxError{"invalid \\u escape in a string", d.i}
		}
		at := d.i
		d.i += 6
		if utf16.IsSurrogate(r) {
			r2, ok := rune(-1), false
			if d.i+1 < len(d.doc) && d.doc[d.i] == '\\' && d.doc[d.i+1] == 'u' {
				r2, ok = d.hex4(d.i + 2)
			}
			pair := utf16.DecodeRune(r, r2)
			if !ok || pair == utf8.RuneError {
				return nil, &syntaxError{fmt.Sprintf("\\u%04x, half of a UTF-16 surrogate pair, alone in a string (a key hashes strings exactly: it cannot stand for one character)", r), at}
			}
			r = pair
			d.i += 6
		}
		b = utf8.AppendRune(b, r)
	}
	return nil, &syntaxError{"unexpected end of JSON input in a string", d.i}
}

// unescape is the byte that the escape \c stands for, but \u.
func unescape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

func (d *decoder) hex4(at int) (rune, bool) {
	if at+4 > len(d.doc) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.doc[at:at+4]), 16, 16)
	return rune(n), err == nil
}

// number reads a number at d.i (see decodeJSON for the types).
func (d *decoder) number() (any, error) {
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.doc) && '0' <= d.doc[d.i] && d.doc[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.doc[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.doc) && d.doc[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return nil, d.unexpected("in a number")
	}
	integer := true
	if d.i < len(d.doc) && d.doc[d.i] == '.' {
		d.i++
		integer = false
		if digits() == 0 {
			return nil, d.unexpected("after the decimal point in a number")
		}
	}
	if d.i < len(d.doc) && (d.doc[d.i] == 'e' || d.doc[d.i] == 'E') {
		d.i++
		integer = false
		if d.i < len(d.doc) && (d.doc[d.i] == '+' || d.doc[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, d.unexpected("in the exponent of a number")
		}
	}
	s := string(d.doc[start:d.i])
	switch {
	case s == "-0":
		return math.Copysign(0, -1), nil
	case !integer:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, &syntaxError{fmt.Sprintf("number %s is out of range", Preview(s)), start}
		}
		return f, nil
	}
	if i, err := strconv.ParseInt(s, 10, strconv.IntSize); err == nil {
		return int(i), nil
	}
	return json.Number(s), nil
}

// isSyntax reports whether err is a problem with the document.
func isSyntax(err error) bool {
	var se *syntaxError
	return errors.As(err, &se)
}
