package event

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The event document is encoded and decoded on every hop (decky spool,
// bus, each of the master's consumers, the store, the API), and
// encoding/json spends most of that time in reflection. AppendJSON and
// Decode do the same work by hand for the one shape the document has; both
// are byte-for-byte and value-for-value equal to encoding/json (fuzzed
// against it), and fall back to it for anything outside the canonical
// shape, so they change speed, never results.

// AppendJSON appends the document json.Marshal(e) would produce.
func AppendJSON(dst []byte, e *Event) ([]byte, error) { return appendEvent(dst, e, true) }

// appendEvent encodes e as encoding/json does with HTML escaping on or off.
func appendEvent(dst []byte, e *Event, html bool) ([]byte, error) {
	n0 := len(dst)
	dst = append(dst, `{"schema":`...)
	dst = strconv.AppendInt(dst, int64(e.Schema), 10)
	dst = appendKey(dst, "id")
	dst = appendString(dst, html, e.ID)
	dst = appendKey(dst, "ts")
	dst = append(dst, '"')
	ts, err := e.Time.AppendText(dst)
	if err != nil {
		// Not representable in RFC 3339: encoding/json says why.
		b, err := marshal(e, html)
		return append(dst[:n0], b...), err
	}
	dst = append(ts, '"')
	dst = appendKey(dst, "type")
	dst = appendString(dst, html, e.Type)
	dst = appendKey(dst, "severity")
	dst = strconv.AppendInt(dst, int64(e.Severity), 10)
	dst = appendOptString(dst, html, "outcome", e.Outcome)
	dst = appendOptString(dst, html, "topology_id", e.Topology)
	dst = appendOptString(dst, html, "host", e.Host)
	dst = appendKey(dst, "decky")
	dst = appendString(dst, html, e.Decky)
	dst = appendKey(dst, "service")
	dst = appendString(dst, html, e.Service)
	dst = appendOptString(dst, html, "session_id", e.Session)
	if e.Seq != 0 {
		dst = appendKey(dst, "seq")
		dst = strconv.AppendUint(dst, e.Seq, 10)
	}
	dst = appendOptString(dst, html, "transport", e.Transport)
	dst = appendEndpoint(dst, html, "src", e.Src)
	dst = appendEndpoint(dst, html, "dst", e.Dst)
	if c := e.Credential; c != nil {
		dst = appendKey(dst, "credential")
		if dst, err = appendCredential(dst, c, html); err != nil {
			return dst, err
		}
	}
	if len(e.Fields) > 0 {
		dst = appendKey(dst, "fields")
		if dst, err = appendMap(dst, html, e.Fields); err != nil {
			return dst, err
		}
	}
	if len(e.Truncated) > 0 {
		dst = appendKey(dst, "truncated")
		dst = append(dst, '[')
		for i, s := range e.Truncated {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, html, s)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

func appendCredential(dst []byte, c *Credential, html bool) ([]byte, error) {
	dst = append(dst, `{"kind":`...)
	dst = appendString(dst, html, c.Kind)
	dst = appendKey(dst, "method")
	dst = appendString(dst, html, c.Method)
	dst = appendKey(dst, "principal")
	dst = appendString(dst, html, c.Principal)
	dst = appendKey(dst, "secret_b64")
	dst = appendString(dst, html, c.SecretB64)
	dst = appendOptString(dst, html, "secret_text", c.SecretText)
	dst = appendKey(dst, "secret_sha256")
	dst = appendString(dst, html, c.SecretSHA256)
	dst = appendKey(dst, "plaintext")
	dst = strconv.AppendBool(dst, c.Plaintext)
	dst = appendOptString(dst, html, "challenge", c.Challenge)
	if len(c.Material) > 0 {
		dst = appendKey(dst, "material")
		var err error
		if dst, err = appendMap(dst, html, c.Material); err != nil {
			return dst, err
		}
	}
	dst = appendOptString(dst, html, "crack_format", c.CrackFormat)
	if c.CrackMode != 0 {
		dst = appendKey(dst, "crack_mode")
		dst = strconv.AppendInt(dst, int64(c.CrackMode), 10)
	}
	dst = appendOptString(dst, html, "crack_line", c.CrackLine)
	return append(dst, '}'), nil
}

func appendEndpoint(dst []byte, html bool, key string, p *Endpoint) []byte {
	if p == nil {
		return dst
	}
	dst = appendKey(dst, key)
	dst = append(dst, `{"ip":`...)
	dst = appendString(dst, html, p.IP)
	if p.Port != 0 {
		dst = append(dst, `,"port":`...)
		dst = strconv.AppendInt(dst, int64(p.Port), 10)
	}
	return append(dst, '}')
}

// appendKey appends ,"key": (keys are constants that need no escaping).
func appendKey(dst []byte, key string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

func appendOptString(dst []byte, html bool, key, s string) []byte {
	if s == "" {
		return dst
	}
	return appendString(appendKey(dst, key), html, s)
}

// appendValue encodes what Fields and Material hold; other types go
// through encoding/json.
func appendValue(dst []byte, html bool, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, html, v), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case float64:
		return appendFloat(dst, v)
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendMap(dst, html, v)
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, html, x); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case [][2]string: // header lists
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, p := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendString(append(appendString(append(dst, '['), html, p[0]), ','), html, p[1]), ']')
		}
		return append(dst, ']'), nil
	case []string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, html, s)
		}
		return append(dst, ']'), nil
	}
	b, err := marshal(v, html)
	return append(dst, b...), err
}

// marshal is encoding/json's encoding of v, HTML escaping on or off.
func marshal(v any, html bool) ([]byte, error) {
	if html {
		return json.Marshal(v)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

func appendMap(dst []byte, html bool, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, html, k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, html, m[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendFloat formats as encoding/json does: shortest form, exponent
// notation outside [1e-6, 1e21), no leading zero in a negative exponent.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		_, err := json.Marshal(f)
		return dst, err
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does: control characters (and
// with html <, > and &) escaped, invalid UTF-8 as U+FFFD, U+2028 and
// U+2029 escaped.
func appendString(dst []byte, html bool, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!html || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Decode parses an event document into e, which it first resets, with the
// result json.Unmarshal gives on a zero Event.
func Decode(data []byte, e *Event) error {
	*e = Event{}
	d := decoder{data: data}
	if d.event(e) && d.end() {
		return nil
	}
	*e = Event{}
	return json.Unmarshal(data, e)
}

// decoder reads the canonical shape; any step returning false means "not
// the canonical shape" and Decode falls back to encoding/json, which then
// either decodes it or names the error.
type decoder struct {
	data  []byte
	i     int
	depth int
}

// maxDepth bounds the nesting the fast path follows.
const maxDepth = 64

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) end() bool {
	d.ws()
	return d.i == len(d.data)
}

// consume skips white space and the byte c.
func (d *decoder) consume(c byte) bool {
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) peek() byte {
	d.ws()
	if d.i < len(d.data) {
		return d.data[d.i]
	}
	return 0
}

// object calls field for each key of an object; it refuses duplicate
// keys (seen tracks up to 64 known keys by the index field returns).
func (d *decoder) object(field func(key []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		key, ok := d.rawKey()
		if !ok || !d.consume(':') || !field(key) {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

// rawKey reads a key without escapes (the canonical keys have none).
func (d *decoder) rawKey() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		if c == '"' {
			d.i++
			return d.data[start : d.i-1], true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// keySet records which known keys of an object were read, by number, so a
// duplicate key (which encoding/json resolves its own way) is refused.
type keySet uint32

func (k *keySet) first(n int) bool {
	if *k&(1<<n) != 0 {
		return false
	}
	*k |= 1 << n
	return true
}

func (d *decoder) event(e *Event) bool {
	var seen keySet
	once := seen.first
	return d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "schema":
			ok = once(0)
			if ok {
				var n int64
				n, ok = d.int()
				e.Schema = int(n)
			}
		case "id":
			ok = once(1) && d.str(&e.ID)
		case "ts":
			ok = once(2) && d.time(e)
		case "type":
			ok = once(3) && d.str(&e.Type)
		case "severity":
			ok = once(4)
			if ok {
				var n int64
				n, ok = d.int()
				e.Severity = int(n)
			}
		case "outcome":
			ok = once(5) && d.str(&e.Outcome)
		case "topology_id":
			ok = once(6) && d.str(&e.Topology)
		case "host":
			ok = once(7) && d.str(&e.Host)
		case "decky":
			ok = once(8) && d.str(&e.Decky)
		case "service":
			ok = once(9) && d.str(&e.Service)
		case "session_id":
			ok = once(10) && d.str(&e.Session)
		case "seq":
			ok = once(11) && d.uint(&e.Seq)
		case "transport":
			ok = once(12) && d.str(&e.Transport)
		case "src":
			ok = once(13) && d.endpoint(&e.Src)
		case "dst":
			ok = once(14) && d.endpoint(&e.Dst)
		case "credential":
			ok = once(15) && d.credential(&e.Credential)
		case "fields":
			ok = once(16) && d.mapValue(&e.Fields)
		case "truncated":
			ok = once(17) && d.strings(&e.Truncated)
		}
		return ok
	})
}

func (d *decoder) endpoint(p **Endpoint) bool {
	ep := &Endpoint{}
	var seen keySet
	ok := d.object(func(key []byte) bool {
		switch string(key) {
		case "ip":
			return seen.first(0) && d.str(&ep.IP)
		case "port":
			if !seen.first(1) {
				return false
			}
			n, ok := d.int()
			ep.Port = int(n)
			return ok
		}
		return false
	})
	*p = ep
	return ok
}

func (d *decoder) credential(p **Credential) bool {
	c := &Credential{}
	var seen keySet
	once := seen.first
	ok := d.object(func(key []byte) bool {
		switch string(key) {
		case "kind":
			return once(0) && d.str(&c.Kind)
		case "method":
			return once(1) && d.str(&c.Method)
		case "principal":
			return once(2) && d.str(&c.Principal)
		case "secret_b64":
			return once(3) && d.str(&c.SecretB64)
		case "secret_text":
			return once(4) && d.str(&c.SecretText)
		case "secret_sha256":
			return once(5) && d.str(&c.SecretSHA256)
		case "plaintext":
			return once(6) && d.bool(&c.Plaintext)
		case "challenge":
			return once(7) && d.str(&c.Challenge)
		case "material":
			return once(8) && d.mapValue(&c.Material)
		case "crack_format":
			return once(9) && d.str(&c.CrackFormat)
		case "crack_mode":
			if !once(10) {
				return false
			}
			n, ok := d.int()
			c.CrackMode = int(n)
			return ok
		case "crack_line":
			return once(11) && d.str(&c.CrackLine)
		}
		return false
	})
	*p = c
	return ok
}

func (d *decoder) time(e *Event) bool {
	d.ws()
	start := d.i
	var s string
	if !d.str(&s) {
		return false
	}
	// encoding/json hands the raw literal to Time.UnmarshalJSON.
	return e.Time.UnmarshalJSON(d.data[start:d.i]) == nil
}

func (d *decoder) bool(b *bool) bool {
	d.ws()
	switch {
	case d.literal("true"):
		*b = true
	case d.literal("false"):
		*b = false
	default:
		return false
	}
	return true
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.i >= len(lit) && string(d.data[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// number reads a literal of JSON's number grammar.
func (d *decoder) number() ([]byte, bool) {
	d.ws()
	start, b := d.i, d.data
	i := d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		n := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	d.i = i
	return b[start:i], true
}

// int reads an integer literal that fits an int.
func (d *decoder) int() (int64, bool) {
	lit, ok := d.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(lit), 10, strconv.IntSize)
	return n, err == nil
}

func (d *decoder) uint(u *uint64) bool {
	lit, ok := d.number()
	if !ok {
		return false
	}
	n, err := strconv.ParseUint(string(lit), 10, 64)
	*u = n
	return err == nil
}

func (d *decoder) strings(p *[]string) bool {
	if !d.consume('[') {
		return false
	}
	out := []string{}
	if !d.consume(']') {
		for {
			var s string
			if !d.str(&s) {
				return false
			}
			out = append(out, s)
			if d.consume(',') {
				continue
			}
			if !d.consume(']') {
				return false
			}
			break
		}
	}
	*p = out
	return true
}

func (d *decoder) mapValue(p *map[string]any) bool {
	if d.peek() != '{' {
		return false
	}
	v, ok := d.value()
	if ok {
		*p = v.(map[string]any)
	}
	return ok
}

// value reads any JSON value as encoding/json decodes into an any.
func (d *decoder) value() (any, bool) {
	switch c := d.peek(); {
	case c == '"':
		var s string
		ok := d.str(&s)
		return s, ok
	case c == '{':
		if d.depth++; d.depth > maxDepth {
			return nil, false
		}
		m := map[string]any{}
		ok := d.consume('{')
		if ok && !d.consume('}') {
			for ok {
				var k string
				if ok = d.str(&k) && d.consume(':'); !ok {
					break
				}
				var v any
				if v, ok = d.value(); !ok {
					break
				}
				m[k] = v
				if d.consume(',') {
					continue
				}
				ok = d.consume('}')
				break
			}
		}
		d.depth--
		return m, ok
	case c == '[':
		if d.depth++; d.depth > maxDepth {
			return nil, false
		}
		a := []any{}
		ok := d.consume('[')
		if ok && !d.consume(']') {
			for ok {
				var v any
				if v, ok = d.value(); !ok {
					break
				}
				a = append(a, v)
				if d.consume(',') {
					continue
				}
				ok = d.consume(']')
				break
			}
		}
		d.depth--
		return a, ok
	case c == 't' || c == 'f':
		var b bool
		ok := d.bool(&b)
		return b, ok
	case c == 'n':
		return nil, d.literal("null")
	default:
		lit, ok := d.number()
		if !ok {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(lit), 64)
		return f, err == nil
	}
}

// str reads a string, unescaping as encoding/json does; it refuses what
// encoding/json would rewrite (invalid UTF-8, lone surrogates).
func (d *decoder) str(s *string) bool {
	if !d.consume('"') {
		return false
	}
	b := d.data
	start := d.i
	i := d.i
	// The common case: no escapes.
	for i < len(b) {
		c := b[i]
		if c == '"' {
			if !utf8.Valid(b[start:i]) {
				return false
			}
			*s = string(b[start:i])
			d.i = i + 1
			return true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return false
		}
		i++
	}
	out := make([]byte, 0, i-start+16)
	out = append(out, b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return false
			}
			*s = string(out)
			d.i = i + 1
			return true
		case c < 0x20:
			return false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return false
		}
		switch b[i+1] {
		case '"', '\\', '/':
			out = append(out, b[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+6 > len(b) {
				return false
			}
			r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
			if err != nil || (r >= 0xD800 && r < 0xE000) {
				return false
			}
			out = utf8.AppendRune(out, rune(r))
			i += 6
			continue
		default:
			return false
		}
		i += 2
	}
	return false
}
