package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// A service's settings are a struct. Its exported fields are its settings,
// named by their json tag; embedded structs add their fields. Other tags:
//
//	doc:"..."          help text shown by decnet services and the dashboard
//	kind:"secret"      a string masked in listings (kind:"secret,multiline" for PEM keys)
//	kind:"text"        a multi-line string
//	enum:"a,b,c"       the allowed values of a string or []string
//	min:"0" max:"100"  the bounds of an int
//
// Go types map to schema types: string or *string (String, Secret, Text,
// Enum; a *string tells "set to empty" from "not set"), int
// (Int), bool (Bool), []string (List, or MultiEnum with enum), map[string]string
// (Map) and map[string]any (Object). The value Settings returns holds the
// defaults.

// Validator is implemented by settings whose fields constrain each other;
// Decode calls it after every field decoded.
type Validator interface {
	Validate() error
}

// schemaOf derives the schema of a settings value.
func schemaOf(v any) ([]Field, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("want a pointer to a struct, got %T", v)
	}
	var out []Field
	err := walkFields(rv.Elem(), func(sf reflect.StructField, fv reflect.Value, key string) error {
		f, err := fieldOf(sf, fv, key)
		if err != nil {
			return fmt.Errorf("field %s: %w", sf.Name, err)
		}
		if slices.ContainsFunc(out, func(o Field) bool { return o.Key == key }) {
			return fmt.Errorf("setting %s is declared twice", key)
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// walkFields calls fn for every setting of a struct value, in declaration
// order, descending into embedded structs.
func walkFields(v reflect.Value, fn func(reflect.StructField, reflect.Value, string) error) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			if err := walkFields(v.Field(i), fn); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if key == "-" {
			continue
		}
		if key == "" {
			return fmt.Errorf("field %s has no json name", sf.Name)
		}
		if err := fn(sf, v.Field(i), key); err != nil {
			return err
		}
	}
	return nil
}

func fieldOf(sf reflect.StructField, fv reflect.Value, key string) (Field, error) {
	f := Field{Key: key, Help: sf.Tag.Get("doc")}
	kinds := strings.Split(sf.Tag.Get("kind"), ",")
	has := func(k string) bool { return slices.Contains(kinds, k) }
	if e := sf.Tag.Get("enum"); e != "" {
		f.Enum = strings.Split(e, ",")
	}
	if f.Help == "" {
		return f, errors.New("no doc tag")
	}
	t := sf.Type
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.String {
		// *string tells "set to empty" from "not set"; it has no default.
		t, fv = t.Elem(), reflect.New(t.Elem()).Elem()
	}
	switch {
	case t.Kind() == reflect.String:
		switch {
		case has("secret"):
			f.Type, f.Multiline = Secret, has("multiline")
		case has("text"):
			f.Type = Text
		case f.Enum != nil:
			f.Type = Enum
		default:
			f.Type = String
		}
		if s := fv.String(); s != "" || f.Type == Enum {
			f.Default = s
		}
		if f.Type == Enum && !slices.Contains(f.Enum, fv.String()) {
			return f, fmt.Errorf("default %q is not one of its values", fv.String())
		}
	case t.Kind() == reflect.Int:
		f.Type, f.Default = Int, fv.Int()
		for _, b := range []struct {
			tag string
			dst **int
		}{{"min", &f.Min}, {"max", &f.Max}} {
			if s := sf.Tag.Get(b.tag); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil {
					return f, fmt.Errorf("%s %q: %w", b.tag, s, err)
				}
				*b.dst = &n
			}
		}
	case t.Kind() == reflect.Bool:
		f.Type, f.Default = Bool, fv.Bool()
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		f.Type = List
		if f.Enum != nil {
			f.Type = MultiEnum
		}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		f.Type = Map
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.Interface,
		t.Kind() == reflect.Interface:
		f.Type = Object
	default:
		return f, fmt.Errorf("type %s has no schema type", t)
	}
	return f, nil
}

// SettingError is one problem with a decky's settings for a service. Key is
// the setting, or "" when the settings as a whole are wrong.
type SettingError struct {
	Key string
	// Unknown is true when the service has no setting Key.
	Unknown bool
	Err     error
}

func (e *SettingError) Error() string {
	if e.Key == "" {
		return e.Err.Error()
	}
	return e.Key + ": " + e.Err.Error()
}

func (e *SettingError) Unwrap() error { return e.Err }

// Is makes an unknown setting match ErrUnknownSetting.
func (e *SettingError) Is(target error) bool { return e.Unknown && target == ErrUnknownSetting }

// ErrUnknownSetting is matched by the error of a setting the service does
// not declare.
var ErrUnknownSetting = errors.New("unknown setting")

// Decode turns a decky's settings for the service, as decoded from a spec,
// into the service's typed settings: its defaults, then every key checked
// against the schema, then the settings' own Validate. The error joins one
// *SettingError per problem; nothing is returned with it. A service
// without settings accepts only empty settings and decodes to nil.
func (i *Info) Decode(cfg map[string]any) (any, error) {
	var errs []error
	norm := make(map[string]any, len(cfg))
	for _, key := range slices.Sorted(maps.Keys(cfg)) {
		f, ok := i.Field(key)
		if !ok {
			errs = append(errs, &SettingError{Key: key, Unknown: true,
				Err: fmt.Errorf("service %s has no setting %q (it has: %s)", i.ID, key, i.settingList())})
			continue
		}
		v, err := f.Check(cfg[key])
		if err != nil {
			errs = append(errs, &SettingError{Key: key, Err: err})
			continue
		}
		norm[key] = v
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if i.Settings == nil {
		return nil, nil
	}
	out := i.Settings()
	if len(norm) > 0 {
		data, err := json.Marshal(norm)
		if err != nil {
			return nil, &SettingError{Err: err}
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(out); err != nil {
			return nil, &SettingError{Err: fmt.Errorf("%v: %w", err, ErrInvalidValue)}
		}
	}
	if v, ok := out.(Validator); ok && !isNil(v) {
		if err := v.Validate(); err != nil {
			return nil, &SettingError{Err: fmt.Errorf("%v: %w", err, ErrInvalidValue)}
		}
	}
	return out, nil
}

func (i *Info) settingList() string {
	if len(i.Config) == 0 {
		return "none"
	}
	keys := make([]string, len(i.Config))
	for n, f := range i.Config {
		keys[n] = f.Key
	}
	return strings.Join(keys, ", ")
}

// Version is the settings of a service whose one setting is the version
// of the product it claims to be.
type Version struct {
	Version string `json:"version" doc:"Version the product claims (default: one that fits the persona)"`
}
