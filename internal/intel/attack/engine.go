package attack

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// Hit is one rule firing on one event.
type Hit struct {
	Rule      string
	Technique string
}

// Engine matches events against the rules.
type Engine struct {
	file  *File
	rules []*compiled

	mu sync.Mutex
	// windows keeps, per distinct rule and key, when each value was last
	// seen; bounded by maxWindows keys and maxValues values per key.
	windows map[string]map[string]time.Time
}

// Bounds of the distinct rules' memory.
const (
	maxWindows = 100_000
	maxValues  = 1024
)

// New returns an engine of a parsed rules file.
func New(f *File) (*Engine, error) {
	e := &Engine{file: f, windows: map[string]map[string]time.Time{}}
	for _, r := range f.Rules {
		c, err := compile(r)
		if err != nil {
			return nil, fmt.Errorf("attack: rule %s: %w", r.ID, err)
		}
		e.rules = append(e.rules, c)
	}
	return e, nil
}

// Load returns an engine of the embedded rules file.
func Load() (*Engine, error) {
	f, err := ParseFile(rulesYAML)
	if err != nil {
		return nil, err
	}
	return New(f)
}

// File returns the rules the engine runs.
func (e *Engine) File() *File { return e.file }

// LongestWindow is the longest distinct window of the rules (0 without
// windowed rules): how far back a restarted tagger replays to warm them.
func (e *Engine) LongestWindow() time.Duration {
	var d time.Duration
	for _, r := range e.file.Rules {
		if r.Distinct != nil && r.Distinct.Within > d {
			d = r.Distinct.Within
		}
	}
	return d
}

// Tag returns the rules ev fires, in file order. Distinct rules remember
// the events they matched, so Tag is meant to see each event once, in
// the order of the stream (a replay sees the same values again and
// counts them once).
func (e *Engine) Tag(ev *event.Event) []Hit {
	var hits []Hit
	for _, c := range e.rules {
		if !c.matches(ev) {
			continue
		}
		if c.distinct != nil && !e.distinctFires(c, ev) {
			continue
		}
		hits = append(hits, Hit{Rule: c.rule.ID, Technique: c.rule.Technique})
	}
	return hits
}

// Techniques returns the distinct techniques of hits, sorted, each with
// the first rule (in file order) that gave it.
func Techniques(hits []Hit) []Hit {
	var out []Hit
	for _, h := range hits {
		if !slices.ContainsFunc(out, func(o Hit) bool { return o.Technique == h.Technique }) {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b Hit) int { return strings.Compare(a.Technique, b.Technique) })
	return out
}

func (c *compiled) matches(ev *event.Event) bool {
	if !slices.ContainsFunc(c.types, func(t []string) bool { return typeMatches(t, ev.Type) }) {
		return false
	}
	if len(c.services) > 0 && !slices.Contains(c.services, ev.Service) {
		return false
	}
	if c.rule.Match.Outcome != "" && ev.Outcome != c.rule.Match.Outcome {
		return false
	}
	for _, f := range c.fields {
		if !f.matches(ev) {
			return false
		}
	}
	return true
}

func typeMatches(pattern []string, typ string) bool {
	segs := strings.Split(typ, ".")
	if len(segs) != len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != segs[i] {
			return false
		}
	}
	return true
}

func (f fieldMatch) matches(ev *event.Event) bool {
	for _, p := range f.paths {
		for _, v := range values(ev, p) {
			if f.re.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// values returns the value at path as text: one string, or one per
// element of a list; none when the path is absent.
func values(ev *event.Event, path string) []string {
	one := func(s string) []string { return []string{s} }
	switch path {
	case "type":
		return one(ev.Type)
	case "service":
		return one(ev.Service)
	case "decky":
		return one(ev.Decky)
	case "outcome":
		return one(ev.Outcome)
	case "src.ip":
		if ev.Src == nil {
			return nil
		}
		return one(ev.Src.IP)
	}
	if name, ok := strings.CutPrefix(path, "credential."); ok {
		c := ev.Credential
		if c == nil {
			return nil
		}
		switch name {
		case "kind":
			return one(c.Kind)
		case "method":
			return one(c.Method)
		case "principal":
			return one(c.Principal)
		case "secret_sha256":
			return one(c.SecretSHA256)
		}
		return nil
	}
	name, ok := strings.CutPrefix(path, "fields.")
	if !ok {
		return nil
	}
	var cur any = ev.Fields
	for seg := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[seg]; !ok {
			return nil
		}
	}
	return text(cur)
}

// text renders a field value (as decoded from JSON, or as a service
// built it) as strings.
func text(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := scalar(x); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := scalar(v); ok {
		return []string{s}
	}
	return nil
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case uint32, uint16, int32, uint8:
		return fmt.Sprint(v), true
	}
	return "", false
}

// distinctFires records ev's value for c and reports whether the window
// now holds enough distinct values.
func (e *Engine) distinctFires(c *compiled, ev *event.Event) bool {
	d := c.distinct
	vals := values(ev, d.Field)
	if len(vals) == 0 {
		return false
	}
	var key strings.Builder
	key.WriteString(c.rule.ID)
	for _, p := range d.By {
		key.WriteByte(0)
		key.WriteString(strings.Join(values(ev, p), "\x01"))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.windows[key.String()]
	if w == nil {
		if len(e.windows) >= maxWindows {
			clear(e.windows) // forget every window rather than grow
		}
		w = map[string]time.Time{}
		e.windows[key.String()] = w
	}
	cutoff := ev.Time.Add(-d.Within)
	for v, at := range w {
		if at.Before(cutoff) {
			delete(w, v)
		}
	}
	if len(w) >= maxValues {
		clear(w)
	}
	for _, v := range vals {
		if at, ok := w[v]; !ok || ev.Time.After(at) {
			w[v] = ev.Time
		}
	}
	return len(w) >= d.AtLeast
}
