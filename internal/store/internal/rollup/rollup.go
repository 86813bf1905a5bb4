// Package rollup turns a batch of newly stored events into the deltas the
// store adds to its attacker and credential aggregates. Both backends use
// it, so both count the same way: one delta per source IP and one per
// credential, sorted by key so that concurrent writers lock rows in the
// same order.
package rollup

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// Attacker is what a batch adds to one source IP's aggregate.
type Attacker struct {
	IP          string
	First, Last time.Time
	Events      int64
	Credentials int64 // events carrying a credential
	Commands    int64 // events whose type ends in ".command.input"
	Deckies     []string
}

// Credential is what a batch adds to one credential's aggregate.
type Credential struct {
	// Key identifies (kind, principal, secret_sha256); it is the unique key
	// in the database because a principal can be too long to index.
	Key       string
	Kind      string
	Principal string
	SecretSHA string
	SecretB64 string
	CrackLine string // the first non-empty one in the batch
	Count     int64
	First     time.Time
	Last      time.Time
	Deckies   []string
	Sources   []string
}

// Key returns the credential key of (kind, principal, secretSHA).
func Key(kind, principal, secretSHA string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(principal))
	h.Write([]byte{0})
	h.Write([]byte(secretSHA))
	return hex.EncodeToString(h.Sum(nil))
}

// IsCommand reports whether an event type counts as a command.
func IsCommand(typ string) bool { return strings.HasSuffix(typ, ".command.input") }

// Clean makes an attacker-influenced string storable in a text column of
// either backend: invalid UTF-8 becomes U+FFFD and NUL (which PostgreSQL
// text refuses) is written \x00, as event.Text writes invalid bytes.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", `\x00`)
}

// Of returns the deltas of events, sorted by IP and by key. Events without
// a source IP add nothing to attackers; an empty decky adds no set member.
func Of(events []event.Event) ([]Attacker, []Credential) {
	type set = map[string]struct{}
	atk := map[string]*Attacker{}
	atkDeckies := map[string]set{}
	cred := map[string]*Credential{}
	credDeckies := map[string]set{}
	credSources := map[string]set{}
	add := func(m map[string]set, k, v string) {
		if v == "" {
			return
		}
		if m[k] == nil {
			m[k] = set{}
		}
		m[k][v] = struct{}{}
	}
	for i := range events {
		e := &events[i]
		ts := e.Time.UTC()
		decky := Clean(e.Decky)
		ip := ""
		if e.Src != nil {
			ip = Clean(e.Src.IP)
		}
		if ip != "" {
			a := atk[ip]
			if a == nil {
				a = &Attacker{IP: ip, First: ts, Last: ts}
				atk[ip] = a
			}
			a.First, a.Last = minT(a.First, ts), maxT(a.Last, ts)
			a.Events++
			if e.Credential != nil {
				a.Credentials++
			}
			if IsCommand(e.Type) {
				a.Commands++
			}
			add(atkDeckies, ip, decky)
		}
		if c := e.Credential; c != nil {
			kind, principal, sha := Clean(c.Kind), Clean(c.Principal), Clean(c.SecretSHA256)
			k := Key(kind, principal, sha)
			d := cred[k]
			if d == nil {
				d = &Credential{Key: k, Kind: kind, Principal: principal, SecretSHA: sha,
					SecretB64: Clean(c.SecretB64), First: ts, Last: ts}
				cred[k] = d
			}
			if d.CrackLine == "" {
				d.CrackLine = Clean(c.CrackLine)
			}
			d.First, d.Last = minT(d.First, ts), maxT(d.Last, ts)
			d.Count++
			add(credDeckies, k, decky)
			add(credSources, k, ip)
		}
	}
	attackers := make([]Attacker, 0, len(atk))
	for ip, a := range atk {
		a.Deckies = sorted(atkDeckies[ip])
		attackers = append(attackers, *a)
	}
	sort.Slice(attackers, func(i, j int) bool { return attackers[i].IP < attackers[j].IP })
	creds := make([]Credential, 0, len(cred))
	for k, c := range cred {
		c.Deckies = sorted(credDeckies[k])
		c.Sources = sorted(credSources[k])
		creds = append(creds, *c)
	}
	sort.Slice(creds, func(i, j int) bool { return creds[i].Key < creds[j].Key })
	return attackers, creds
}

func sorted(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func minT(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxT(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Technique is what a batch of new event tags adds to one attacker's
// count of one ATT&CK technique.
type Technique struct {
	IP, Technique string
	Events        int64
	First, Last   time.Time
}

// Techniques sums new tags per (source IP, technique), sorted by that key;
// tags without a source address count for no attacker.
func Techniques(tags []store.EventTag) []Technique {
	by := map[[2]string]*Technique{}
	for _, g := range tags {
		if g.SrcIP == "" {
			continue
		}
		k := [2]string{g.SrcIP, g.Technique}
		t := by[k]
		if t == nil {
			t = &Technique{IP: g.SrcIP, Technique: g.Technique, First: g.Time, Last: g.Time}
			by[k] = t
		}
		t.Events++
		if g.Time.Before(t.First) {
			t.First = g.Time
		}
		if g.Time.After(t.Last) {
			t.Last = g.Time
		}
	}
	out := make([]Technique, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].IP != out[j].IP {
			return out[i].IP < out[j].IP
		}
		return out[i].Technique < out[j].Technique
	})
	return out
}
