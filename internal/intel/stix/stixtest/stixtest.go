// Package stixtest validates STIX 2.1 bundles against the JSON schemas
// OASIS publishes (github.com/oasis-open/cti-stix2-json-schemas), kept
// in schemas/ with their licence. Tests only.
package stixtest

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schemas
var schemas embed.FS

const base = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"

var (
	once     sync.Once
	compiler *jsonschema.Compiler
	loadErr  error
	cache    = map[string]*jsonschema.Schema{}
	mu       sync.Mutex
)

func load() {
	compiler = jsonschema.NewCompiler()
	compiler.AssertFormat()
	loadErr = fs.WalkDir(schemas, "schemas", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := schemas.ReadFile(p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return compiler.AddResource(base+strings.TrimPrefix(p, "schemas/"), doc)
	})
}

func schema(rel string) (*jsonschema.Schema, error) {
	once.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	mu.Lock()
	defer mu.Unlock()
	if s, ok := cache[rel]; ok {
		return s, nil
	}
	s, err := compiler.Compile(base + rel)
	if err != nil {
		return nil, err
	}
	cache[rel] = s
	return s, nil
}

// dirs are where each object type's schema is.
var dirs = []string{"sdos/", "sros/", "observables/", "common/"}

// Validate checks a bundle (JSON) against the bundle schema, and every
// object against its own type's schema, so that a custom type accepted by
// the bundle schema cannot hide a malformed standard object. Objects of
// a custom type (x-...) are checked against the common core only.
func Validate(bundle []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(bundle))
	if err != nil {
		return err
	}
	s, err := schema("common/bundle.json")
	if err != nil {
		return err
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	objs, _ := doc.(map[string]any)["objects"].([]any)
	for i, o := range objs {
		typ, _ := o.(map[string]any)["type"].(string)
		var os *jsonschema.Schema
		for _, d := range dirs {
			if _, err := fs.Stat(schemas, "schemas/"+d+typ+".json"); err == nil {
				if os, err = schema(d + typ + ".json"); err != nil {
					return err
				}
				break
			}
		}
		if os == nil {
			if !strings.HasPrefix(typ, "x-") {
				return fmt.Errorf("object %d: unknown type %q", i, typ)
			}
			if os, err = schema("common/core.json"); err != nil {
				return err
			}
		}
		if err := os.Validate(o); err != nil {
			return fmt.Errorf("object %d (%s %v): %w", i, typ, o.(map[string]any)["id"], err)
		}
	}
	return nil
}
