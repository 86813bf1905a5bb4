// Package attack tags events with MITRE ATT&CK techniques. The rules are
// data: rules.yaml, embedded, versioned with the code, each rule mapping
// an event pattern (types, service, outcome, field regular expressions,
// optionally a count of distinct values in a window) to one technique.
// Every rule has a producer contract in contract_test.go: a real client
// against a real decky service produces an event that fires it.
//
// The package is pure: it knows events and rules, not the bus or the
// store. Engine.Tag is safe for concurrent use.
package attack

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed rules.yaml
var rulesYAML []byte

// RulesYAML is the embedded rules file.
func RulesYAML() []byte { return slices.Clone(rulesYAML) }

// File is the rules file.
type File struct {
	// Version is bumped on every change of a rule's meaning.
	Version int `yaml:"version" json:"version"`
	// Attack is the ATT&CK Enterprise release the ids and names follow.
	Attack string `yaml:"attack" json:"attack"`
	// Techniques names every technique a rule emits.
	Techniques map[string]Technique `yaml:"techniques" json:"techniques"`
	Rules      []Rule               `yaml:"rules" json:"rules"`
}

// Technique is an ATT&CK technique's name and tactics (their short
// names, as ATT&CK Navigator writes them).
type Technique struct {
	Name    string   `yaml:"name" json:"name"`
	Tactics []string `yaml:"tactics" json:"tactics"`
}

// Rule maps an event pattern to a technique.
type Rule struct {
	ID          string    `yaml:"id" json:"id"`
	Technique   string    `yaml:"technique" json:"technique"`
	Description string    `yaml:"description" json:"description"`
	Match       Match     `yaml:"match" json:"match"`
	Distinct    *Distinct `yaml:"distinct,omitempty" json:"distinct,omitempty"`
}

// Match is a stateless event pattern; every given condition must hold.
type Match struct {
	Types    []string          `yaml:"types" json:"types"`
	Services []string          `yaml:"services,omitempty" json:"services,omitempty"`
	Outcome  string            `yaml:"outcome,omitempty" json:"outcome,omitempty"`
	Fields   map[string]string `yaml:"fields,omitempty" json:"fields,omitempty"`
}

// Distinct makes a rule fire only once AtLeast different values of Field
// were matched within Within among events agreeing on every path of By.
type Distinct struct {
	Field   string        `yaml:"field" json:"field"`
	By      []string      `yaml:"by" json:"by"`
	AtLeast int           `yaml:"at_least" json:"at_least"`
	Within  time.Duration `yaml:"within" json:"within"`
}

var (
	ruleIDRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	techniqueRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	typeRE      = regexp.MustCompile(`^(\*|[a-z0-9_-]+)(\.(\*|[a-z0-9_-]+)){2}$`)
	tacticRE    = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
)

// ParseFile reads and validates a rules file: every problem is returned
// at once.
func ParseFile(b []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("attack: rules: %w", err)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if f.Version < 1 {
		bad("version must be 1 or more")
	}
	if f.Attack == "" {
		bad("attack (the ATT&CK release) is missing")
	}
	for id, t := range f.Techniques {
		if !techniqueRE.MatchString(id) || t.Name == "" || len(t.Tactics) == 0 {
			bad("technique %q: want an id such as T1110.001, a name and tactics", id)
		}
		for _, tac := range t.Tactics {
			if !tacticRE.MatchString(tac) {
				bad("technique %s: tactic %q is not a short name such as credential-access", id, tac)
			}
		}
	}
	seen := map[string]bool{}
	used := map[string]bool{}
	for i, r := range f.Rules {
		where := fmt.Sprintf("rule %d (%s)", i, r.ID)
		if !ruleIDRE.MatchString(r.ID) {
			bad("%s: id must be lower case letters, digits and '-'", where)
		}
		if seen[r.ID] {
			bad("%s: duplicate id", where)
		}
		seen[r.ID] = true
		if _, ok := f.Techniques[r.Technique]; !ok {
			bad("%s: technique %q is not listed under techniques", where, r.Technique)
		}
		used[r.Technique] = true
		if r.Description == "" {
			bad("%s: no description", where)
		}
		if _, err := compile(r); err != nil {
			bad("%s: %v", where, err)
		}
	}
	for id := range f.Techniques {
		if !used[id] {
			bad("technique %s: no rule emits it", id)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("attack: rules: %w", err)
	}
	return &f, nil
}

// compiled is a rule ready to match.
type compiled struct {
	rule     Rule
	types    [][]string // segments; "*" matches any
	services []string
	fields   []fieldMatch
	distinct *Distinct
}

type fieldMatch struct {
	paths []string
	re    *regexp.Regexp
}

func compile(r Rule) (*compiled, error) {
	c := &compiled{rule: r, services: r.Match.Services, distinct: r.Distinct}
	if len(r.Match.Types) == 0 {
		return nil, errors.New("match.types is empty")
	}
	for _, t := range r.Match.Types {
		if !typeRE.MatchString(t) {
			return nil, fmt.Errorf("type %q is not <service>.<object>.<action> (a segment may be *)", t)
		}
		c.types = append(c.types, strings.Split(t, "."))
	}
	switch r.Match.Outcome {
	case "", "success", "failure", "unknown":
	default:
		return nil, fmt.Errorf("outcome %q: want success, failure or unknown", r.Match.Outcome)
	}
	keys := make([]string, 0, len(r.Match.Fields))
	for k := range r.Match.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		paths := strings.Split(k, "|")
		for _, p := range paths {
			if !validPath(p) {
				return nil, fmt.Errorf("field path %q: want type, service, decky, outcome, src.ip, credential.<name> or fields.<name>", p)
			}
		}
		re, err := regexp.Compile(r.Match.Fields[k])
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
		c.fields = append(c.fields, fieldMatch{paths: paths, re: re})
	}
	if d := r.Distinct; d != nil {
		if !validPath(d.Field) || d.AtLeast < 2 || d.Within <= 0 || d.Within > 24*time.Hour {
			return nil, errors.New("distinct: want a field path, at_least of 2 or more and within up to 24h")
		}
		for _, p := range d.By {
			if !validPath(p) {
				return nil, fmt.Errorf("distinct.by: path %q is not valid", p)
			}
		}
	}
	return c, nil
}

func validPath(p string) bool {
	switch p {
	case "type", "service", "decky", "outcome", "src.ip",
		"credential.kind", "credential.method", "credential.principal", "credential.secret_sha256":
		return true
	}
	rest, ok := strings.CutPrefix(p, "fields.")
	return ok && rest != "" && !strings.Contains(rest, "..") && !strings.HasSuffix(rest, ".")
}
