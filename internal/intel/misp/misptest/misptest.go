// Package misptest validates MISP events against what MISP publishes:
// PyMISP's JSON schema of the event format, its table of attribute types
// and categories (describeTypes.json), the misp-objects templates the
// events use, and the ATT&CK galaxy's cluster values. Tests only.
package misptest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed data
var data embed.FS

type describe struct {
	Result struct {
		Types                []string            `json:"types"`
		CategoryTypeMappings map[string][]string `json:"category_type_mappings"`
	} `json:"result"`
}

type objectTemplate struct {
	Name          string   `json:"name"`
	UUID          string   `json:"uuid"`
	Version       int      `json:"version"`
	MetaCategory  string   `json:"meta-category"`
	Required      []string `json:"required"`
	RequiredOneOf []string `json:"requiredOneOf"`
	Attributes    map[string]struct {
		MispAttribute string   `json:"misp-attribute"`
		Categories    []string `json:"categories"`
	} `json:"attributes"`
}

func readJSON(name string, v any) error {
	b, err := data.ReadFile("data/" + name)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Validate checks a MISP event document ({"Event": ...}).
func Validate(doc []byte) error {
	raw, err := data.ReadFile("data/schema-lax.json")
	if err != nil {
		return err
	}
	sdoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://misp/schema.json", sdoc); err != nil {
		return err
	}
	sch, err := c.Compile("mem://misp/schema.json")
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	var d describe
	if err := readJSON("describeTypes.json", &d); err != nil {
		return err
	}
	var galaxy struct {
		Values map[string]string `json:"values"`
	}
	if err := readJSON("galaxy-mitre-attack-pattern.json", &galaxy); err != nil {
		return err
	}
	var ev struct {
		Event struct {
			UUID      string `json:"uuid"`
			Attribute []attr `json:"Attribute"`
			Object    []struct {
				Name            string `json:"name"`
				MetaCategory    string `json:"meta-category"`
				TemplateUUID    string `json:"template_uuid"`
				TemplateVersion string `json:"template_version"`
				Attribute       []attr `json:"Attribute"`
			} `json:"Object"`
			Tag []struct {
				Name string `json:"name"`
			} `json:"Tag"`
		} `json:"Event"`
	}
	if err := json.Unmarshal(doc, &ev); err != nil {
		return err
	}
	check := func(where string, a attr) error {
		if !slices.Contains(d.Result.Types, a.Type) {
			return fmt.Errorf("%s: unknown attribute type %q", where, a.Type)
		}
		if !slices.Contains(d.Result.CategoryTypeMappings[a.Category], a.Type) {
			return fmt.Errorf("%s: type %q is not allowed in category %q", where, a.Type, a.Category)
		}
		if a.Value == "" || a.UUID == "" {
			return fmt.Errorf("%s: empty value or uuid", where)
		}
		return nil
	}
	for i, a := range ev.Event.Attribute {
		if err := check(fmt.Sprintf("attribute %d", i), a); err != nil {
			return err
		}
		if a.ObjectRelation != "" {
			return fmt.Errorf("attribute %d: object_relation outside an object", i)
		}
	}
	for i, o := range ev.Event.Object {
		var t objectTemplate
		if err := readJSON("objects/"+o.Name+".json", &t); err != nil {
			return fmt.Errorf("object %d: no template %q here: %w", i, o.Name, err)
		}
		if o.TemplateUUID != t.UUID || o.TemplateVersion != strconv.Itoa(t.Version) || o.MetaCategory != t.MetaCategory {
			return fmt.Errorf("object %d (%s): template %s v%s %s, want %s v%d %s", i, o.Name, o.TemplateUUID, o.TemplateVersion, o.MetaCategory,
				t.UUID, t.Version, t.MetaCategory)
		}
		var rels []string
		for j, a := range o.Attribute {
			where := fmt.Sprintf("object %d (%s) attribute %d (%s)", i, o.Name, j, a.ObjectRelation)
			if err := check(where, a); err != nil {
				return err
			}
			def, ok := t.Attributes[a.ObjectRelation]
			if !ok {
				return fmt.Errorf("%s: the template has no such relation", where)
			}
			if def.MispAttribute != a.Type {
				return fmt.Errorf("%s: type %q, the template says %q", where, a.Type, def.MispAttribute)
			}
			if len(def.Categories) > 0 && !slices.Contains(def.Categories, a.Category) {
				return fmt.Errorf("%s: category %q not in the template's %v", where, a.Category, def.Categories)
			}
			rels = append(rels, a.ObjectRelation)
		}
		for _, r := range t.Required {
			if !slices.Contains(rels, r) {
				return fmt.Errorf("object %d (%s): required %q missing", i, o.Name, r)
			}
		}
		if len(t.RequiredOneOf) > 0 && !slices.ContainsFunc(rels, func(r string) bool { return slices.Contains(t.RequiredOneOf, r) }) {
			return fmt.Errorf("object %d (%s): none of %v", i, o.Name, t.RequiredOneOf)
		}
	}
	for _, tg := range ev.Event.Tag {
		v, ok := strings.CutPrefix(tg.Name, `misp-galaxy:mitre-attack-pattern="`)
		if !ok {
			continue
		}
		v = strings.TrimSuffix(v, `"`)
		id := v[strings.LastIndex(v, " - ")+3:]
		if galaxy.Values[id] != v {
			return fmt.Errorf("galaxy tag %q: the galaxy's cluster is %q", tg.Name, galaxy.Values[id])
		}
	}
	return nil
}

type attr struct {
	UUID           string `json:"uuid"`
	Type           string `json:"type"`
	Category       string `json:"category"`
	Value          string `json:"value"`
	ObjectRelation string `json:"object_relation"`
}

// GalaxyValues are the ATT&CK galaxy's cluster values by technique id.
func GalaxyValues() (map[string]string, error) {
	var g struct {
		Values map[string]string `json:"values"`
	}
	err := readJSON("galaxy-mitre-attack-pattern.json", &g)
	return g.Values, err
}
