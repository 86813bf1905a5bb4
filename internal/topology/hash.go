package topology

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// hashDomain versions the canonical encoding: change it whenever Canonical
// changes shape, so old and new hashes can never collide.
const hashDomain = "decnet/topology/v1\n"

// Canonical returns the canonical encoding of the spec's semantic content:
// JSON without whitespace, object keys in a fixed order (struct fields in
// declaration order, map keys sorted), LANs, deckies, services and custom
// services sorted by name. Addresses keep their order because the first one
// is the home LAN. Status and UI positions are left out, as is everything a
// Spec does not carry (timestamps, counters, errors, resync flags live in
// Status or in the master's rows).
func (s *Spec) Canonical() []byte {
	c := s.semantic()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// A Spec holds only strings, numbers, booleans, lists and string-keyed
	// maps after decoding, so encoding cannot fail.
	if err := enc.Encode(c); err != nil {
		panic("topology: canonical encoding: " + err.Error())
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// Hash returns the version hash: hex SHA-256 over the canonical encoding.
// Master and agent compute it with this function only.
func (s *Spec) Hash() string {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write(s.Canonical())
	return hex.EncodeToString(h.Sum(nil))
}

// semantic returns a deep-enough copy with every non-semantic field cleared
// and every order-free list sorted.
func (s *Spec) semantic() Spec {
	c := *s
	c.Status = nil
	c.LANs = slices.Clone(s.LANs)
	for i := range c.LANs {
		c.LANs[i].UI = nil
	}
	slices.SortFunc(c.LANs, func(a, b LAN) int { return strings.Compare(a.Name, b.Name) })
	c.Deckies = slices.Clone(s.Deckies)
	for i := range c.Deckies {
		d := &c.Deckies[i]
		d.UI = nil
		d.Services = slices.Clone(d.Services)
		slices.Sort(d.Services)
		// An empty settings block says nothing: hash it like no block.
		var cfg map[string]map[string]any
		for svc, kv := range d.ServiceConfig {
			if len(kv) == 0 {
				continue
			}
			if cfg == nil {
				cfg = map[string]map[string]any{}
			}
			cfg[svc] = kv
		}
		d.ServiceConfig = cfg
		if d.Live != nil {
			l := Live{Tarpits: slices.Clone(d.Live.Tarpits), Files: slices.Clone(d.Live.Files)}
			slices.SortFunc(l.Tarpits, func(a, b Tarpit) int {
				return cmp.Or(cmp.Compare(a.Port, b.Port), strings.Compare(a.Source, b.Source))
			})
			slices.SortFunc(l.Files, func(a, b Drop) int { return strings.Compare(a.Path, b.Path) })
			if len(l.Tarpits)+len(l.Files) == 0 {
				d.Live = nil // an empty block says nothing
			} else {
				d.Live = &l
			}
		}
	}
	slices.SortFunc(c.Deckies, func(a, b Decky) int { return strings.Compare(a.Name, b.Name) })
	c.Custom = slices.Clone(s.Custom)
	slices.SortFunc(c.Custom, func(a, b CustomService) int { return strings.Compare(a.Name, b.Name) })
	return c
}
