// Package stix writes a report (package report) as a STIX 2.1 bundle:
// the DECNET system as the producing identity; per actor a threat-actor;
// per address, file, URL and SSH client key an indicator with its
// observable, sightings and observed-data; per ATT&CK technique an
// attack-pattern the actors use; campaigns attributed to their actors.
//
// Ids are derived, never random: an observable's from its contributing
// properties as STIX 2.1 prescribes (UUIDv5 in the STIX namespace),
// every other object's from what it describes in a DECNET namespace, so
// exporting twice gives the same objects (a TAXII client sees versions
// of one object, not new ones).
package stix

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/report"
)

// Object is one STIX object, as JSON.
type Object = map[string]any

// Bundle is a STIX 2.1 bundle.
type Bundle struct {
	Type    string   `json:"type"`
	ID      string   `json:"id"`
	Objects []Object `json:"objects"`
}

// Namespaces of the derived ids: STIX's for observables (STIX 2.1,
// 2.9), DECNET's for the rest.
var (
	scoNamespace    = mustUUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
	decnetNamespace = mustUUID("5b0c2f7e-3a51-4d6a-9a3c-6f1e0d7c2b84")
)

// epoch is the created time of the objects that describe DECNET itself
// and ATT&CK (they do not change between exports).
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// SystemID is the id of the DECNET identity that produces every object.
var SystemID = sdoID("identity", "decnet")

// Build writes r as a bundle.
func Build(r *report.Report) *Bundle {
	b := &builder{seen: map[string]bool{}}
	b.add(Object{"type": "identity", "spec_version": "2.1", "id": SystemID, "created": ts(epoch), "modified": ts(epoch),
		"name": "DECNET", "identity_class": "system",
		"description": "A DECNET deception network: every object here was observed by its decoy machines."})
	patterns := map[string]string{}
	for id, t := range r.Techniques {
		pid := sdoID("attack-pattern", id)
		patterns[id] = pid
		phases := []any{}
		for _, tac := range t.Tactics {
			phases = append(phases, Object{"kill_chain_name": "mitre-attack", "phase_name": tac})
		}
		b.add(Object{"type": "attack-pattern", "spec_version": "2.1", "id": pid, "created": ts(epoch), "modified": ts(epoch),
			"created_by_ref": SystemID, "name": t.Name, "kill_chain_phases": phases,
			"external_references": []any{Object{"source_name": "mitre-attack", "external_id": id, "url": attackURL(id)}}})
	}
	actors := map[string]string{}
	for _, a := range r.Actors {
		aid := sdoID("threat-actor", a.Key())
		actors[a.Key()] = aid
		ta := Object{"type": "threat-actor", "spec_version": "2.1", "id": aid, "created": ts(a.FirstSeen), "modified": ts(a.LastSeen),
			"created_by_ref": SystemID, "name": a.Name(), "threat_actor_types": []any{"unknown"},
			"first_seen": ts(a.FirstSeen), "last_seen": ts(a.LastSeen)}
		if a.Identity != "" {
			ta["x_decnet_identity"] = a.Identity
			ta["description"] = fmt.Sprintf("%d addresses DECNET judged one actor.", len(a.Sources))
		}
		b.add(ta)
		for _, t := range a.Techniques {
			if pid, ok := patterns[t.ID]; ok {
				b.relationship(aid, "uses", pid, t.FirstSeen, t.LastSeen, fmt.Sprintf("%d events tagged %s", t.Events, t.ID))
			}
		}
		for _, s := range a.Sources {
			b.source(s, aid)
		}
	}
	for _, c := range r.Campaigns {
		cid := sdoID("campaign", c.ID)
		b.add(Object{"type": "campaign", "spec_version": "2.1", "id": cid, "created": ts(c.FirstSeen), "modified": ts(c.LastSeen),
			"created_by_ref": SystemID, "name": "DECNET campaign " + c.ID, "first_seen": ts(c.FirstSeen), "last_seen": ts(c.LastSeen),
			"x_decnet_campaign": c.ID})
		for _, k := range c.Actors {
			if aid, ok := actors[k]; ok {
				b.relationship(cid, "attributed-to", aid, c.FirstSeen, c.LastSeen, "")
			}
		}
	}
	key, _ := json.Marshal(r.Scope)
	return &Bundle{Type: "bundle", ID: "bundle--" + uuid5(decnetNamespace, "bundle|"+string(key)+"|"+ts(r.Generated)), Objects: b.objs}
}

type builder struct {
	objs []Object
	seen map[string]bool
}

func (b *builder) add(o Object) {
	id := o["id"].(string)
	if !b.seen[id] {
		b.seen[id] = true
		b.objs = append(b.objs, o)
	}
}

func (b *builder) relationship(src, typ, dst string, first, last time.Time, desc string) {
	o := Object{"type": "relationship", "spec_version": "2.1", "id": sdoID("relationship", src+"|"+typ+"|"+dst),
		"created": ts(first), "modified": ts(last), "created_by_ref": SystemID, "relationship_type": typ,
		"source_ref": src, "target_ref": dst}
	if desc != "" {
		o["description"] = desc
	}
	b.add(o)
}

// source adds an address and what it showed: observables, indicators that
// indicate the actor, their sightings and one observed-data.
func (b *builder) source(s *report.Source, actor string) {
	addrType := "ipv4-addr"
	if a, err := netip.ParseAddr(s.IP); err == nil && a.Unmap().Is6() {
		addrType = "ipv6-addr"
	}
	ip := b.observable(Object{"type": addrType, "value": s.IP}, "value")
	refs := []any{ip}
	od := sdoID("observed-data", s.IP)
	b.indicator("ip "+s.IP, fmt.Sprintf("[%s:value = '%s']", addrType, esc(s.IP)), "Address of a DECNET attacker", s.FirstSeen, s.LastSeen, s.Events, actor, od)
	for _, f := range s.Files {
		file := Object{"type": "file", "hashes": Object{"SHA-256": f.SHA256}}
		if f.Size > 0 {
			file["size"] = f.Size
		}
		fid := b.observable(file, "hashes")
		refs = append(refs, fid)
		b.indicator("file "+f.SHA256, fmt.Sprintf("[file:hashes.'SHA-256' = '%s']", f.SHA256),
			fmt.Sprintf("A payload dropped on a DECNET decoy (%s %s)", f.Type, f.Name), f.Time, f.Time, 1, actor, od)
	}
	for _, u := range s.URLs {
		uid := b.observable(Object{"type": "url", "value": u.Value}, "value")
		refs = append(refs, uid)
		b.indicator("url "+u.Value, fmt.Sprintf("[url:value = '%s']", esc(u.Value)), "A URL an attacker fetched a tool from on a DECNET decoy",
			u.Time, u.Time, 1, actor, od)
	}
	for _, k := range s.SSHKeys {
		b.indicator("ssh key "+k.Value, fmt.Sprintf("[x-decnet-ssh-key:fingerprint = '%s']", esc(k.Value)),
			"An SSH client key an attacker offered to a DECNET decoy (its SHA-256 fingerprint)", k.Time, k.Time, 1, actor, od)
	}
	b.add(Object{"type": "observed-data", "spec_version": "2.1", "id": od,
		"created": ts(s.FirstSeen), "modified": ts(s.LastSeen), "created_by_ref": SystemID,
		"first_observed": ts(s.FirstSeen), "last_observed": ts(s.LastSeen), "number_observed": clampCount(s.Events), "object_refs": refs})
}

// indicator adds an indicator of the actor and its sighting by DECNET,
// in the observed-data od.
func (b *builder) indicator(key, pattern, name string, first, last time.Time, count int64, actor, od string) {
	iid := sdoID("indicator", key)
	b.add(Object{"type": "indicator", "spec_version": "2.1", "id": iid, "created": ts(first), "modified": ts(last),
		"created_by_ref": SystemID, "name": name, "indicator_types": []any{"malicious-activity"},
		"pattern": pattern, "pattern_type": "stix", "pattern_version": "2.1", "valid_from": ts(first)})
	b.relationship(iid, "indicates", actor, first, last, "")
	sig := Object{"type": "sighting", "spec_version": "2.1", "id": sdoID("sighting", key), "created": ts(first), "modified": ts(last),
		"created_by_ref": SystemID, "sighting_of_ref": iid, "first_seen": ts(first), "last_seen": ts(last),
		"count": clampCount(count), "where_sighted_refs": []any{SystemID}, "observed_data_refs": []any{od}}
	b.add(sig)
}

// observable adds a cyber-observable whose id derives from the named
// contributing property, and returns the id.
func (b *builder) observable(o Object, contributing string) string {
	canon, _ := json.Marshal(Object{contributing: o[contributing]}) // map keys sorted: canonical for these
	o["spec_version"] = "2.1"
	o["id"] = o["type"].(string) + "--" + uuid5(scoNamespace, string(canon))
	b.add(o)
	return o["id"].(string)
}

func clampCount(n int64) int64 {
	switch {
	case n < 1:
		return 1
	case n > 999_999_999:
		return 999_999_999
	}
	return n
}

// esc escapes a string for a STIX pattern's single quotes.
func esc(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

func attackURL(id string) string {
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(id, ".", "/") + "/"
}

// ts is a STIX timestamp (UTC, milliseconds).
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func sdoID(typ, key string) string { return typ + "--" + uuid5(decnetNamespace, typ+"|"+key) }

func uuid5(ns [16]byte, name string) string { return event.UUIDv5(ns, name) }

func mustUUID(s string) [16]byte {
	u, err := event.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}
