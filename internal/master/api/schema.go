package api

import (
	"encoding"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

// schemas builds the JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of
// the Go types the handlers decode and encode, following encoding/json:
// field names from the json tags, omitempty and omitzero fields optional,
// embedded structs flattened, nil slices and maps null. Named structs
// become components referenced by $ref; a struct allows no property it
// does not declare, so an undocumented field fails the response check.
type schemas struct {
	defs map[string]any
	seen map[reflect.Type]string
}

func newSchemas() *schemas {
	return &schemas{defs: map[string]any{}, seen: map[reflect.Type]string{}}
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
	unsafeName    = regexp.MustCompile(`[^A-Za-z0-9_.]+`)
)

// of returns the schema of v's type (nil v: no schema).
func (s *schemas) of(v any) any {
	if v == nil {
		return nil
	}
	return s.typ(reflect.TypeOf(v))
}

func nullable(schema map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{schema, map[string]any{"type": "null"}}}
}

func (s *schemas) typ(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case t.Kind() != reflect.Pointer && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)):
		return map[string]any{} // its own encoding
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.String && t.Implements(textType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(s.typ(t.Elem()))
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": []string{"string", "null"}, "contentEncoding": "base64"}
		}
		return map[string]any{"type": []string{"array", "null"}, "items": s.typ(t.Elem())}
	case reflect.Array:
		return map[string]any{"type": "array", "items": s.typ(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []string{"object", "null"}, "additionalProperties": s.typ(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t)
		}
		name, ok := s.seen[t]
		if !ok {
			name = componentName(t)
			s.seen[t] = name
			s.defs[name] = s.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{} // interface{}: anything
}

// componentName is pkg.Type, generics' brackets made safe.
func componentName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		// List[github.com/.../store.Event] → api.List_store.Event
		arg := name[i+1 : len(name)-1]
		if j := strings.LastIndexByte(arg, '/'); j >= 0 {
			arg = arg[j+1:]
		}
		name = name[:i] + "_" + arg
	}
	return unsafeName.ReplaceAllString(pkg+"."+name, "_")
}

func (s *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	s.fields(t, props, &required)
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// fields adds t's fields; the fields of an embedded struct come after
// t's own and never replace them, as encoding/json's shallower field wins.
func (s *schemas) fields(t reflect.Type, props map[string]any, required *[]string) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = s.typ(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
	for _, et := range embedded {
		sub := map[string]any{}
		var req []string
		s.fields(et, sub, &req)
		for k, v := range sub {
			if _, own := props[k]; !own {
				props[k] = v
			}
		}
		for _, k := range req {
			if !slices.Contains(*required, k) {
				*required = append(*required, k)
			}
		}
	}
}
