package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FieldType is the type of a configuration value.
type FieldType string

// The configuration value types. List, Map and Object hold nested values;
// Object takes any JSON value.
const (
	String    FieldType = "string"
	Secret    FieldType = "secret"
	Text      FieldType = "text"
	Int       FieldType = "int"
	Bool      FieldType = "bool"
	Enum      FieldType = "enum"
	MultiEnum FieldType = "multi_enum"
	List      FieldType = "list"
	Map       FieldType = "map"
	Object    FieldType = "object"
)

// Field is the schema of one configuration key.
type Field struct {
	Key     string    `json:"key"`
	Type    FieldType `json:"type"`
	Default any       `json:"default,omitempty"`
	Enum    []string  `json:"enum,omitempty"`
	Min     *int      `json:"min,omitempty"`
	Max     *int      `json:"max,omitempty"`
	Help    string    `json:"help"`
	// Multiline marks a secret that spans lines (a PEM key): forms take
	// it in a text area.
	Multiline bool `json:"multiline,omitempty"`
}

// IsSecret reports whether the value must be masked in listings.
func (f Field) IsSecret() bool { return f.Type == Secret }

// ErrInvalidValue is matched by every value error of Check and Parse.
var ErrInvalidValue = errors.New("invalid value")

func (f Field) errorf(format string, a ...any) error {
	return fmt.Errorf("%s: %s: %w", f.Key, fmt.Sprintf(format, a...), ErrInvalidValue)
}

// Check verifies that v, as decoded from YAML or JSON, has the field's type,
// and returns it normalised (integral floats become int64, lists []any).
func (f Field) Check(v any) (any, error) {
	switch f.Type {
	case String, Secret, Text:
		s, ok := v.(string)
		if !ok {
			return nil, f.errorf("want a string, got %s", kind(v))
		}
		return s, nil
	case Enum:
		s, ok := v.(string)
		if !ok {
			return nil, f.errorf("want one of %s, got %s", strings.Join(f.Enum, ", "), kind(v))
		}
		if !slices.Contains(f.Enum, s) {
			return nil, f.errorf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
		}
		return s, nil
	case Int:
		n, ok := asInt(v)
		if !ok {
			return nil, f.errorf("want an integer, got %s", kind(v))
		}
		if f.Min != nil && n < int64(*f.Min) || f.Max != nil && n > int64(*f.Max) {
			return nil, f.errorf("%d is outside %s", n, f.bounds())
		}
		return n, nil
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, f.errorf("want true or false, got %s", kind(v))
		}
		return b, nil
	case List, MultiEnum:
		items, ok := v.([]any)
		if !ok {
			return nil, f.errorf("want a list of strings, got %s", kind(v))
		}
		seen := map[string]bool{}
		for _, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, f.errorf("list item: want a string, got %s", kind(it))
			}
			if f.Type == MultiEnum {
				if !slices.Contains(f.Enum, s) {
					return nil, f.errorf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
				}
				if seen[s] {
					return nil, f.errorf("%q is listed twice", s)
				}
				seen[s] = true
			}
		}
		return items, nil
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, f.errorf("want a mapping of strings, got %s", kind(v))
		}
		for k, it := range m {
			if _, ok := it.(string); !ok {
				return nil, f.errorf("key %q: want a string, got %s", k, kind(it))
			}
		}
		return m, nil
	case Object:
		return normalize(v), nil
	}
	return nil, f.errorf("unknown field type %q", f.Type)
}

func (f Field) bounds() string {
	lo, hi := "-inf", "+inf"
	if f.Min != nil {
		lo = strconv.Itoa(*f.Min)
	}
	if f.Max != nil {
		hi = strconv.Itoa(*f.Max)
	}
	return "[" + lo + ", " + hi + "]"
}

// Parse converts a string from a flat source (an INI file, a form) into a
// typed value and checks it. Booleans accept true/false/yes/no/on/off/1/0;
// lists are comma-separated; maps and objects are JSON. A "b64:" prefix is
// kept verbatim for text fields, which the service decodes.
func (f Field) Parse(s string) (any, error) {
	s = strings.TrimSpace(s)
	switch f.Type {
	case Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, f.errorf("%q is not an integer", s)
		}
		return f.Check(n)
	case Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
		return nil, f.errorf("%q is not a boolean (true/false, yes/no, on/off, 1/0)", s)
	case List, MultiEnum:
		var items []any
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				items = append(items, part)
			}
		}
		if items == nil {
			items = []any{}
		}
		return f.Check(items)
	case Map, Object:
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, f.errorf("not valid JSON: %v", err)
		}
		return f.Check(v)
	}
	return f.Check(s)
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

// normalize makes decoded values comparable across YAML and JSON: integral
// numbers become int64, maps map[string]any.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case float64:
		if n, ok := asInt(x); ok {
			return n
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = normalize(it)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			out[k] = normalize(it)
		}
		return out
	}
	return v
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, uint64:
		return "an integer"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
