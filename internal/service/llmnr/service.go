// Package llmnr is the decky as a workstation that mistypes names: at
// random intervals it asks its LAN, over LLMNR, mDNS and NBT-NS, for names
// that do not exist. Nothing honest answers such a query; a poisoner
// (Responder, Inveigh) answers every one. Each answer is an event naming
// the poisoner, and the decky then authenticates to it over HTTP with a
// honey credential, so the attacker carries away a hash whose cracking and
// use give them away. On its own ports it answers only its own name, as
// Windows does, and records the names others look for.
package llmnr

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Ports: LLMNR and mDNS.
const (
	LLMNRPort = 5355
	MDNSPort  = 5353
)

// Settings are the llmnr service's settings.
type Settings struct {
	BaitNames   []string `json:"bait_names" doc:"Names queried to catch poisoners (default: seeded share and server names a user would mistype)"`
	Protocols   []string `json:"protocols" kind:"multi_enum" enum:"llmnr,mdns,nbtns" doc:"Protocols the bait queries go out on (default: all three)"`
	IntervalMin int      `json:"interval_min" min:"1" max:"86400" doc:"Shortest wait between two bait queries, seconds"`
	IntervalMax int      `json:"interval_max" min:"1" max:"86400" doc:"Longest wait between two bait queries, seconds"`
	FollowUp    string   `json:"follow_up" enum:"http,none" doc:"http authenticates to a poisoner with the honey credential; none only reports it"`
	HoneyUser   string   `json:"honey_user" doc:"Honey account offered to a poisoner (default: seeded)"`
	HoneyPass   string   `json:"honey_password" kind:"secret" doc:"Its password (default: seeded); watch for it anywhere"`
	HoneyDomain string   `json:"honey_domain" doc:"Its domain (default: the persona's NetBIOS domain)"`
}

func defaults() *Settings {
	return &Settings{IntervalMin: 60, IntervalMax: 600, FollowUp: "http"}
}

func init() {
	service.Register(service.Info{
		ID: "llmnr", Title: "LLMNR/mDNS responder watch", Ports: service.UDPPorts(LLMNRPort, MDNSPort),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: []event.Type{
			{Name: "llmnr.poison.detected", Severity: event.Critical, Summary: "Something answered a bait query for a name that does not exist: a poisoner (Responder, Inveigh) on the LAN.", Fields: []event.FieldDoc{
				event.F("protocol", "string", "llmnr, mdns or nbtns"),
				event.F("name", "string", "the bait name asked"),
				event.F("answer", "string", "the address the answer points at"),
				event.F("ttl", "int", "the TTL answered (Responder answers LLMNR with 30 s, NBT-NS with 165 s)"),
			}},
			{Name: "llmnr.honey.sent", Severity: event.High, Summary: "The decky authenticated to the poisoner with the honey credential.", Fields: []event.FieldDoc{
				event.F("url", "string", "where it authenticated"),
				event.F("user", "string", "the honey account, DOMAIN\\user"),
				event.F("status", "int", "the HTTP status the poisoner answered, 0 when it did not"),
				event.F("error", "string", "why it could not, when it could not"),
			}},
			{Name: "llmnr.query.received", Severity: event.Low, Summary: "A host asked the LAN for a name: its own mistype, or a poisoner probing.", Fields: []event.FieldDoc{
				event.F("protocol", "string", "llmnr or mdns"),
				event.F("name", "string", "the name asked"),
				event.F("qtype", "int", "the record type"),
				event.F("answered", "bool", "whether the decky answered (only for its own name)"),
			}},
		},
	})
}
