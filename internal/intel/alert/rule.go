package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/correlate"
)

// Condition kinds.
const (
	// Each raises on every matching event (throttled: later matches of
	// the same source join the active alert).
	Each = "each"
	// Threshold raises when Count matching events from one source fall
	// within Window ("3 failures in 60 s").
	Threshold = "threshold"
	// FirstTouch raises on the first event ever seen from a source on a
	// decky (restrict it to deckies with match.deckies).
	FirstTouch = "first_touch"
	// HoneyCredential raises on any use of a honey credential. It needs
	// a HoneyCredentials registry (issue 16); without one it is refused.
	HoneyCredential = "honey_credential"
)

// Bounds of a rule.
const (
	MaxWindow   = 24 * time.Hour
	MaxCount    = 100_000
	maxList     = 64
	maxName     = 100
	maxText     = 1000
	maxListItem = 200
)

// Rule is an alert rule as the API reads and writes it: which events it
// matches, the condition that raises an alert, and the alert's severity.
type Rule struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Enabled rules are evaluated (default true on create).
	Enabled bool `json:"enabled"`
	// Severity of the alerts it raises, 0 (info) to 4 (critical).
	Severity  int       `json:"severity"`
	Match     Match     `json:"match"`
	Condition Condition `json:"condition"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Spec is the part of a rule the store keeps as its spec.
type Spec struct {
	Description string    `json:"description,omitempty"`
	Severity    int       `json:"severity"`
	Match       Match     `json:"match"`
	Condition   Condition `json:"condition"`
}

// Match selects events. Every list given must contain a value of the
// event; empty lists and zero values match everything.
type Match struct {
	// Types are globs on the event type (path.Match: "*" is any run of
	// characters, dots included): "ssh.login.failed", "*.login.failed".
	Types    []string `json:"types,omitempty"`
	Services []string `json:"services,omitempty"`
	Deckies  []string `json:"deckies,omitempty"`
	// Topologies are topology ids or names; LANs are LAN names, matched
	// on the LANs the event's decky sits on.
	Topologies []string `json:"topologies,omitempty"`
	LANs       []string `json:"lans,omitempty"`
	// Tags are ATT&CK technique ids the event is tagged with; T1110
	// matches its sub-techniques too.
	Tags []string `json:"tags,omitempty"`
	// MinSeverity keeps events at least this severe (0-4).
	MinSeverity int `json:"min_severity,omitempty"`
	// Sources are source addresses or prefixes ("203.0.113.0/24").
	Sources []string `json:"sources,omitempty"`
	// Identities are identity ids (I-...): the event's source belongs
	// to one of them when the evaluator sees the event.
	Identities []string `json:"identities,omitempty"`
	// Tokens are canary token ids: the rule matches their firings only
	// (each token has such a rule, made with it: its alert route).
	Tokens []string `json:"tokens,omitempty"`
}

// Condition says when matching events raise an alert.
type Condition struct {
	// Kind is each (default), threshold, first_touch or
	// honey_credential.
	Kind string `json:"kind"`
	// Count and Window are the threshold: Count matching events from one
	// source within Window.
	Count  int      `json:"count,omitempty"`
	Window Duration `json:"window,omitempty"`
}

// Duration is a time.Duration written as text ("60s", "5m").
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "60s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("window %q: want a duration such as 60s or 5m", s)
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("window: want a duration such as \"60s\" or a number of seconds")
	}
	*d = Duration(time.Duration(n * float64(time.Second)))
	return nil
}

var (
	techniqueID = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
)

// ErrInvalid marks a rule that cannot be used; the message says why.
var ErrInvalid = errors.New("invalid alert rule")

// Validate checks a rule and fills the condition's default; honey says
// whether honey credentials are known. Every problem is reported at once.
func (r *Rule) Validate(honey bool) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || len(r.Name) > maxName {
		bad("name: 1 to %d characters", maxName)
	}
	if len(r.Description) > maxText {
		bad("description: at most %d characters", maxText)
	}
	if r.Severity < event.Info || r.Severity > event.Critical {
		bad("severity: 0 (info) to 4 (critical)")
	}
	m := &r.Match
	for _, l := range []*[]string{&m.Types, &m.Services, &m.Deckies, &m.Topologies, &m.LANs, &m.Tags, &m.Sources, &m.Identities, &m.Tokens} {
		if len(*l) == 0 {
			*l = nil // an empty list is no filter, as an absent one
		}
	}
	if m.MinSeverity < event.Info || m.MinSeverity > event.Critical {
		bad("match.min_severity: 0 to 4")
	}
	for _, l := range []struct {
		name string
		vs   []string
	}{{"types", m.Types}, {"services", m.Services}, {"deckies", m.Deckies}, {"topologies", m.Topologies}, {"lans", m.LANs}, {"tags", m.Tags}, {"sources", m.Sources}, {"identities", m.Identities}, {"tokens", m.Tokens}} {
		if len(l.vs) > maxList {
			bad("match.%s: at most %d values", l.name, maxList)
		}
		for _, v := range l.vs {
			if v == "" || len(v) > maxListItem {
				bad("match.%s: values of 1 to %d characters", l.name, maxListItem)
				break
			}
		}
	}
	for _, p := range m.Types {
		if _, err := path.Match(p, ""); err != nil {
			bad("match.types: %q is not a glob", p)
		}
	}
	for _, t := range m.Tags {
		if !techniqueID.MatchString(t) {
			bad("match.tags: %q is not an ATT&CK technique id such as T1110 or T1110.001", t)
		}
	}
	for _, id := range m.Identities {
		if !correlate.IsIdentityID(id) {
			bad("match.identities: %q is not an identity id such as I-0123456789ab", id)
		}
	}
	for _, s := range m.Sources {
		if _, err := parseSource(s); err != nil {
			bad("match.sources: %q is not an address or a prefix", s)
		}
	}
	c := &r.Condition
	if c.Kind == "" {
		c.Kind = Each
	}
	switch c.Kind {
	case Threshold:
		if c.Count < 1 || c.Count > MaxCount {
			bad("condition.count: 1 to %d", MaxCount)
		}
		if w := time.Duration(c.Window); w < time.Second || w > MaxWindow {
			bad("condition.window: 1s to %s", MaxWindow)
		}
	case Each, FirstTouch, HoneyCredential:
		if c.Count != 0 || c.Window != 0 {
			bad("condition: count and window go with kind threshold only")
		}
		if c.Kind == HoneyCredential && !honey {
			bad("condition.kind: honey_credential needs honey credentials, which this master does not know yet")
		}
	default:
		bad("condition.kind: each, threshold, first_touch or honey_credential, not %q", c.Kind)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

func parseSource(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// SpecOf returns the stored spec of a rule.
func SpecOf(r *Rule) (json.RawMessage, error) {
	return json.Marshal(Spec{Description: r.Description, Severity: r.Severity, Match: r.Match, Condition: r.Condition})
}

// FromStored rebuilds a rule from its stored parts.
func FromStored(id, name string, enabled bool, spec []byte, created, updated time.Time) (*Rule, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("alert rule %s: %w", id, err)
	}
	return &Rule{ID: id, Name: name, Enabled: enabled, Description: s.Description, Severity: s.Severity, Match: s.Match,
		Condition: s.Condition, CreatedAt: created, UpdatedAt: updated}, nil
}
