package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// KV is one member of an ordered JSON object.
type KV struct {
	K string
	V any
}

// Obj is a JSON object that keeps its members' order, as the products'
// own serializers (Jackson, Go structs) do.
type Obj []KV

// MarshalJSON implements json.Marshaler.
func (o Obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := marshalNoHTML(kv.K)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalNoHTML(kv.V)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns the value of key k.
func (o Obj) Get(k string) (any, bool) {
	for _, kv := range o {
		if kv.K == k {
			return kv.V, true
		}
	}
	return nil, false
}

// JFloat is a double as Java prints it: always with a fraction ("1.0").
type JFloat float64

// MarshalJSON implements json.Marshaler.
func (f JFloat) MarshalJSON() ([]byte, error) {
	s := strconv.FormatFloat(float64(f), 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return []byte(s), nil
}

func marshalNoHTML(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Compact encodes v without HTML escaping and without a final newline, as
// Jackson writes it.
func Compact(v any) []byte {
	b, err := marshalNoHTML(v)
	if err != nil {
		return []byte("{}")
	}
	return b
}

// MaxDepth bounds the nesting Parse accepts.
const MaxDepth = 64

var errDepth = errors.New("json: nesting too deep")

// Parse decodes one JSON value keeping object member order: objects are
// Obj, arrays []any, numbers json.Number, then string, bool and nil.
// Trailing data after the value is an error.
func Parse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("json: trailing data")
	}
	return v, nil
}

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errDepth
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := Obj{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("json: bad object key")
				}
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = append(o, KV{k, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return a, nil
		}
		return nil, errors.New("json: unexpected delimiter")
	default:
		return t, nil
	}
}

// Jackson re-prints compact JSON the way Elasticsearch's pretty printer
// does: two-space indents, " : " between key and value, empty containers
// as "{ }" and "[ ]".
func Jackson(compact []byte) []byte {
	v, err := Parse(compact)
	if err != nil {
		return compact
	}
	var b bytes.Buffer
	writeJackson(&b, v, 0)
	return b.Bytes()
}

func writeJackson(b *bytes.Buffer, v any, depth int) {
	ind := func(d int) { b.WriteString(strings.Repeat("  ", d)) }
	switch t := v.(type) {
	case Obj:
		if len(t) == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("{\n")
		for i, kv := range t {
			ind(depth + 1)
			k, _ := marshalNoHTML(kv.K)
			b.Write(k)
			b.WriteString(" : ")
			writeJackson(b, kv.V, depth+1)
			if i < len(t)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		ind(depth)
		b.WriteByte('}')
	case []any:
		if len(t) == 0 {
			b.WriteString("[ ]")
			return
		}
		b.WriteString("[\n")
		for i, e := range t {
			ind(depth + 1)
			writeJackson(b, e, depth+1)
			if i < len(t)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		ind(depth)
		b.WriteByte(']')
	case json.Number:
		b.WriteString(t.String())
	default:
		x, _ := marshalNoHTML(t)
		b.Write(x)
	}
}

// O builds an Obj from alternating keys and values.
func O(kv ...any) Obj {
	o := make(Obj, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		o = append(o, KV{k, kv[i+1]})
	}
	return o
}
