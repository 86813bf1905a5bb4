package topology

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// MaxSpecSize bounds a spec document; larger input is refused before parsing.
const MaxSpecSize = 4 << 20

// ErrDecode is matched by every decoding error.
var ErrDecode = errors.New("decode topology")

// DecodeError is a decoding problem, with the line it is on when known.
type DecodeError struct {
	Line int
	Msg  string
}

func (e *DecodeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Is makes every DecodeError match ErrDecode.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// Decode reads a spec from YAML or JSON (JSON is read as the YAML subset it
// is). Decoding is strict: an unknown key, a wrong type or a duplicate key
// is an error that names the line. Decode does not validate.
func Decode(r io.Reader) (*Spec, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSpecSize+1))
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return DecodeBytes(data)
}

// DecodeBytes is Decode over a byte slice.
func DecodeBytes(data []byte) (*Spec, error) {
	if len(data) > MaxSpecSize {
		return nil, &DecodeError{Msg: fmt.Sprintf("spec is larger than %d bytes", MaxSpecSize)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &DecodeError{Msg: "spec is empty"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &DecodeError{Line: extra.Line, Msg: "more than one document in spec"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	s.normalize()
	return &s, nil
}

var (
	lineRe     = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownRe  = regexp.MustCompile(`^field (\S+) not found in type topology\.(\w+)$`)
	cannotRe   = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.*)$")
	typeLabels = map[string]string{"map": "a mapping", "seq": "a list", "str": "a string",
		"int": "an integer", "bool": "a boolean", "float": "a number", "null": "nothing"}
)

// yamlError turns the YAML library's errors into DecodeErrors with lines
// and wording that names our keys rather than Go types.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		// Report the first problem; one fix at a time is easier to follow
		// and the rest usually share its cause.
		return friendly(te.Errors[0])
	}
	return friendly(strings.TrimPrefix(err.Error(), "yaml: "))
}

func friendly(msg string) error {
	e := &DecodeError{Msg: msg}
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &e.Line)
		e.Msg = m[2]
	}
	if m := unknownRe.FindStringSubmatch(e.Msg); m != nil {
		e.Msg = fmt.Sprintf("unknown key %q in %s", m[1], objectName(m[2]))
	} else if m := cannotRe.FindStringSubmatch(e.Msg); m != nil {
		what := typeLabels[m[1]]
		if m[2] != "" {
			what += fmt.Sprintf(" %q", m[2])
		}
		e.Msg = fmt.Sprintf("wrong type: %s where %s is expected", what, goTypeLabel(m[3]))
	}
	return e
}

func objectName(goType string) string {
	switch goType {
	case "Spec":
		return "topology"
	case "LAN":
		return "lan"
	case "CustomService":
		return "custom service"
	}
	return strings.ToLower(goType)
}

func goTypeLabel(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "topology."):
		return "a mapping"
	case t == "string", t == "topology.Driver":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	}
	return t
}

// normalize gives decoded values one representation whatever the source
// format, so that YAML and JSON of the same spec hash alike.
func (s *Spec) normalize() {
	for i := range s.Deckies {
		for svc, cfg := range s.Deckies[i].ServiceConfig {
			if cfg == nil {
				s.Deckies[i].ServiceConfig[svc] = map[string]any{}
				continue
			}
			for k, v := range cfg {
				cfg[k] = normalizeValue(v)
			}
		}
	}
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case uint64:
		return x
	case float64:
		if x == float64(int64(x)) && x < 1<<53 && x > -(1<<53) {
			return int64(x)
		}
		return x
	case []any:
		for i := range x {
			x[i] = normalizeValue(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = normalizeValue(x[k])
		}
		return x
	}
	return v
}

// YAML renders the spec as YAML.
func (s *Spec) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// JSON renders the spec as indented JSON.
func (s *Spec) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return escapeC1(buf.Bytes()), nil
}

// escapeC1 escapes DEL and the C1 control characters, which encoding/json
// writes raw and the YAML reader (which also reads JSON) refuses, so that
// a spec carrying them in a banner still reads back.
func escapeC1(b []byte) []byte {
	s := string(b)
	if !strings.ContainsFunc(s, isC1) {
		return b
	}
	var out strings.Builder
	for _, r := range s {
		if isC1(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return []byte(out.String())
}

func isC1(r rune) bool { return r == 0x7f || r >= 0x80 && r <= 0x9f }
