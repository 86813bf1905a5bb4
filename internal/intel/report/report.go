// Package report gathers what the master knows about a set of attackers
// into one value that the threat-intelligence exports (STIX 2.1, MISP)
// are written from: the actors (an identity, or a lone address), their
// addresses with what each showed (files, URLs, client keys,
// credentials, connections), their ATT&CK techniques and their
// campaigns.
package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/store"
)

// Scope says which attackers a report covers: one address, one identity,
// one campaign, or every source seen in a time range. Since and Until
// also bound the events read for the others.
type Scope struct {
	Attacker string    `json:"attacker,omitempty"`
	Identity string    `json:"identity,omitempty"`
	Campaign string    `json:"campaign,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
}

// Bounds of a report.
const (
	// MaxSources is the most addresses one report covers.
	MaxSources = 500
	// eventsPerSource is the most events read per address.
	eventsPerSource = 2000
	// rangeEvents is the most events read to find the sources of a
	// time range.
	rangeEvents = 20000
)

// Report is the material of an export.
type Report struct {
	Scope     Scope
	Generated time.Time
	Actors    []*Actor
	Campaigns []Campaign
	// Techniques names the ATT&CK techniques the actors used.
	Techniques map[string]attack.Technique
	// AttackRelease is the ATT&CK release the ids follow.
	AttackRelease string
}

// Actor is one DECNET identity, or an address linked to no other.
type Actor struct {
	// Identity is "" for a lone address.
	Identity   string
	Campaign   string
	Sources    []*Source
	Techniques []store.TechniqueCount
	FirstSeen  time.Time
	LastSeen   time.Time
}

// Name is how exports name the actor.
func (a *Actor) Name() string {
	if a.Identity != "" {
		return "DECNET identity " + a.Identity
	}
	return "DECNET attacker " + a.Sources[0].IP
}

// Key is the actor's stable key (for derived ids).
func (a *Actor) Key() string {
	if a.Identity != "" {
		return a.Identity
	}
	return "ip:" + a.Sources[0].IP
}

// Campaign is a DECNET campaign and its actors' keys.
type Campaign struct {
	ID        string
	Actors    []string
	FirstSeen time.Time
	LastSeen  time.Time
}

// Source is one attacking address and what it showed.
type Source struct {
	IP          string
	FirstSeen   time.Time
	LastSeen    time.Time
	Events      int64
	Deckies     []string
	Intel       *store.AttackerIntel
	Files       []File
	URLs        []Seen
	SSHKeys     []Seen
	Credentials []Credential
	Connections []*Connection
}

// Seen is a value with the time it was first seen.
type Seen struct {
	Value string
	Time  time.Time
}

// File is a payload the address brought, quarantined by SHA-256.
type File struct {
	SHA256 string
	Name   string
	Size   int64
	Type   string // the event type that carried it
	Time   time.Time
}

// Credential is a credential the address tried.
type Credential struct {
	Principal string
	Secret    string // as text; "" for binary or hashed secrets
	Service   string
	Decky     string
	Accepted  bool
	Time      time.Time
}

// Connection is the address's traffic to one decky service.
type Connection struct {
	Decky     string
	DstIP     string
	DstPort   int
	Transport string
	Service   string
	Count     int
	First     time.Time
	Last      time.Time
}

// Store is what a report reads.
type Store interface {
	Attacker(ctx context.Context, ip string) (*store.Attacker, error)
	IdentityByID(ctx context.Context, id string) (*store.IdentityDetail, error)
	CampaignByID(ctx context.Context, id string) (*store.CampaignDetail, error)
	ListEvents(ctx context.Context, f store.EventFilter) ([]event.Event, error)
}

// ErrEmpty is returned when the scope selects no attacker.
var ErrEmpty = errors.New("no attacker in the scope")

// Collect gathers the report of a scope; techniques names the ATT&CK
// techniques (the tagging rules' file).
func Collect(ctx context.Context, st Store, sc Scope, rules *attack.File, now time.Time) (*Report, error) {
	ips, err := sources(ctx, st, sc)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, ErrEmpty
	}
	r := &Report{Scope: sc, Generated: now.UTC(), Techniques: map[string]attack.Technique{}, AttackRelease: rules.Attack}
	actors := map[string]*Actor{}
	campaigns := map[string]*Campaign{}
	for _, ip := range ips {
		a, err := st.Attacker(ctx, ip)
		if errors.Is(err, store.ErrNotFound) {
			continue // linked, but its events are gone (retention)
		}
		if err != nil {
			return nil, err
		}
		src, err := collectSource(ctx, st, a, sc)
		if err != nil {
			return nil, err
		}
		key := a.Identity
		if key == "" {
			key = "ip:" + a.IP
		}
		act := actors[key]
		if act == nil {
			act = &Actor{Identity: a.Identity, Campaign: a.Campaign, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen}
			actors[key] = act
			r.Actors = append(r.Actors, act)
		}
		act.Sources = append(act.Sources, src)
		act.FirstSeen, act.LastSeen = minTime(act.FirstSeen, a.FirstSeen), maxTime(act.LastSeen, a.LastSeen)
		act.Techniques = mergeTechniques(act.Techniques, a.Techniques)
		for _, t := range a.Techniques {
			if def, ok := rules.Techniques[t.ID]; ok {
				r.Techniques[t.ID] = def
			}
		}
		if a.Campaign != "" {
			c := campaigns[a.Campaign]
			if c == nil {
				c = &Campaign{ID: a.Campaign, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen}
				campaigns[a.Campaign] = c
			}
			if act.Key() != "" && !slices.Contains(c.Actors, act.Key()) {
				c.Actors = append(c.Actors, act.Key())
			}
			c.FirstSeen, c.LastSeen = minTime(c.FirstSeen, a.FirstSeen), maxTime(c.LastSeen, a.LastSeen)
		}
	}
	if len(r.Actors) == 0 {
		return nil, ErrEmpty
	}
	for _, c := range campaigns {
		r.Campaigns = append(r.Campaigns, *c)
	}
	slices.SortFunc(r.Campaigns, func(x, y Campaign) int { return strings.Compare(x.ID, y.ID) })
	return r, nil
}

// sources lists the addresses of a scope.
func sources(ctx context.Context, st Store, sc Scope) ([]string, error) {
	switch {
	case sc.Attacker != "":
		return []string{sc.Attacker}, nil
	case sc.Identity != "":
		d, err := st.IdentityByID(ctx, sc.Identity)
		if err != nil {
			return nil, err
		}
		return d.Sources, nil
	case sc.Campaign != "":
		d, err := st.CampaignByID(ctx, sc.Campaign)
		if err != nil {
			return nil, err
		}
		return d.Sources, nil
	case !sc.Since.IsZero() || !sc.Until.IsZero():
		evs, err := st.ListEvents(ctx, store.EventFilter{Since: sc.Since, Until: sc.Until, Limit: rangeEvents})
		if err != nil {
			return nil, err
		}
		var ips []string
		for _, e := range evs {
			if e.Src != nil && e.Src.IP != "" && !slices.Contains(ips, e.Src.IP) {
				ips = append(ips, e.Src.IP)
				if len(ips) == MaxSources {
					break
				}
			}
		}
		slices.Sort(ips)
		return ips, nil
	}
	return nil, fmt.Errorf("a scope needs an attacker, an identity, a campaign or a time range")
}

// collectSource reads an address's events into what it showed.
func collectSource(ctx context.Context, st Store, a *store.Attacker, sc Scope) (*Source, error) {
	src := &Source{IP: a.IP, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Events: a.Events, Deckies: a.Deckies, Intel: a.Intel}
	evs, err := st.ListEvents(ctx, store.EventFilter{SrcIP: a.IP, Since: sc.Since, Until: sc.Until, Limit: eventsPerSource})
	if err != nil {
		return nil, err
	}
	slices.Reverse(evs) // oldest first
	conns := map[string]*Connection{}
	for _, e := range evs {
		for _, sha := range e.Artifacts() {
			if isPayload(e.Type) && !slices.ContainsFunc(src.Files, func(f File) bool { return f.SHA256 == sha }) {
				src.Files = append(src.Files, File{SHA256: sha, Name: str(e.Fields, "path", "name", "file_name"),
					Size: num(e.Fields["size"]), Type: e.Type, Time: e.Time})
			}
		}
		if u := str(e.Fields, "url"); u != "" && strings.HasSuffix(e.Type, ".file.fetch") {
			src.URLs = addSeen(src.URLs, u, e.Time)
		}
		if c := e.Credential; c != nil {
			if fp, _ := c.Material["fingerprint"].(string); fp != "" {
				src.SSHKeys = addSeen(src.SSHKeys, fp, e.Time)
			} else if c.Principal != "" || c.SecretText != "" {
				cred := Credential{Principal: c.Principal, Service: e.Service, Decky: e.Decky, Accepted: strings.HasSuffix(e.Type, ".login.success"), Time: e.Time}
				if c.Plaintext {
					cred.Secret = c.SecretText
				}
				if !slices.ContainsFunc(src.Credentials, func(x Credential) bool {
					return x.Principal == cred.Principal && x.Secret == cred.Secret && x.Service == cred.Service && x.Decky == cred.Decky
				}) && len(src.Credentials) < 200 {
					src.Credentials = append(src.Credentials, cred)
				}
			}
		}
		if e.Dst != nil && e.Decky != "" {
			k := fmt.Sprint(e.Decky, e.Dst.IP, e.Dst.Port, e.Transport)
			cn := conns[k]
			if cn == nil {
				cn = &Connection{Decky: e.Decky, DstIP: e.Dst.IP, DstPort: e.Dst.Port, Transport: e.Transport, Service: e.Service, First: e.Time}
				conns[k] = cn
				src.Connections = append(src.Connections, cn)
			}
			cn.Count++
			cn.Last = e.Time
		}
	}
	return src, nil
}

// isPayload reports whether an event's blob is something the attacker
// brought (not a file the decky served, not a session recording).
func isPayload(typ string) bool {
	return !strings.HasSuffix(typ, ".transcript.saved") && !strings.HasSuffix(typ, ".file.download")
}

func addSeen(l []Seen, v string, t time.Time) []Seen {
	if slices.ContainsFunc(l, func(s Seen) bool { return s.Value == v }) || len(l) >= 200 {
		return l
	}
	return append(l, Seen{Value: v, Time: t})
}

func str(f map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, _ := f[k].(string); s != "" {
			return s
		}
	}
	return ""
}

func num(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}

func mergeTechniques(a, b []store.TechniqueCount) []store.TechniqueCount {
	for _, t := range b {
		i := slices.IndexFunc(a, func(x store.TechniqueCount) bool { return x.ID == t.ID })
		if i < 0 {
			a = append(a, t)
			continue
		}
		a[i].Events += t.Events
		a[i].FirstSeen, a[i].LastSeen = minTime(a[i].FirstSeen, t.FirstSeen), maxTime(a[i].LastSeen, t.LastSeen)
	}
	slices.SortFunc(a, func(x, y store.TechniqueCount) int { return strings.Compare(x.ID, y.ID) })
	return a
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
