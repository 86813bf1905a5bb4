package master

import (
	"encoding/json"

	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// Redacted replaces the value of a secret service setting in what a
// viewer reads.
const Redacted = "(redacted)"

// specFor returns the stored spec as who may read it: whole for admins;
// for viewers with every secret service setting (a TLS key, a decoy
// account's password) replaced by Redacted.
func specFor(spec json.RawMessage, who interface{ Can(store.Role) bool }) json.RawMessage {
	if who == nil || who.Can(store.Admin) || len(spec) == 0 {
		return spec
	}
	s, err := topology.DecodeBytes(spec)
	if err != nil {
		return json.RawMessage(`{}`) // never hand out what could not be checked
	}
	changed := false
	for i := range s.Deckies {
		for slug, cfg := range s.Deckies[i].ServiceConfig {
			info, ok := service.Lookup(slug)
			if !ok {
				continue
			}
			for key := range cfg {
				if f, ok := info.Field(key); ok && f.IsSecret() {
					cfg[key] = Redacted
					changed = true
				}
			}
		}
	}
	if !changed {
		return spec
	}
	out, err := json.Marshal(s)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return out
}
