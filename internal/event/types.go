package event

import (
	"fmt"
	"regexp"
	"sort"
	"sync"
)

// Severities, from the catalogue.
const (
	Info     = 0
	Low      = 1
	Medium   = 2
	High     = 3
	Critical = 4
)

// Type describes one event type: its name, how severe it is and the
// protocol fields it carries. Types are append-only and their meaning never
// changes; whoever emits a type declares it (a service in its description,
// the decky runtime and the spool for their own), and docs/events.md is
// generated from the declarations.
type Type struct {
	Name     string `json:"type"`
	Severity int    `json:"severity"`
	Summary  string `json:"summary"`
	// Credential marks types whose events carry the credential object.
	Credential bool       `json:"credential,omitempty"`
	Fields     []FieldDoc `json:"fields,omitempty"`
}

// FieldDoc documents one protocol field of an event type.
type FieldDoc struct {
	Name string `json:"name"`
	Type string `json:"type"` // string, int, bool, list, object
	Doc  string `json:"doc"`
}

// F is shorthand for a FieldDoc in declarations.
func F(name, typ, doc string) FieldDoc { return FieldDoc{Name: name, Type: typ, Doc: doc} }

var typeName = regexp.MustCompile(`^[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+$`)

var (
	typesMu sync.RWMutex
	types   = map[string]Type{}
)

// Declare adds types to the catalogue. Declaring a name twice, a malformed
// name (not <namespace>.<object>.<action>, at most 32 characters) or a
// severity outside 0-4 is a programmer error and panics, at init.
func Declare(ts ...Type) {
	typesMu.Lock()
	defer typesMu.Unlock()
	for _, t := range ts {
		if !typeName.MatchString(t.Name) || len(t.Name) > 32 {
			panic(fmt.Sprintf("event: malformed type name %q", t.Name))
		}
		if t.Severity < Info || t.Severity > Critical {
			panic(fmt.Sprintf("event: type %s: severity %d outside 0-4", t.Name, t.Severity))
		}
		if _, dup := types[t.Name]; dup {
			panic("event: type declared twice: " + t.Name)
		}
		types[t.Name] = t
	}
}

// LookupType returns a declared type.
func LookupType(name string) (Type, bool) {
	typesMu.RLock()
	defer typesMu.RUnlock()
	t, ok := types[name]
	return t, ok
}

// Known reports whether name is a declared type.
func Known(name string) bool {
	_, ok := LookupType(name)
	return ok
}

// SeverityOf returns the catalogue severity of a type, and false when the
// type is not declared.
func SeverityOf(name string) (int, bool) {
	t, ok := LookupType(name)
	return t.Severity, ok
}

// Types returns every declared type, sorted by name.
func Types() []Type {
	typesMu.RLock()
	out := make([]Type, 0, len(types))
	for _, t := range types {
		out = append(out, t)
	}
	typesMu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SessionTypes are the types every connection-oriented protocol namespace
// emits through the shared connection machinery: open, close, a refusal
// over the connection limits, a protocol error and a tarpit.
func SessionTypes(ns string) []Type {
	return []Type{
		{Name: ns + ".session.open", Severity: Info, Summary: "A connection was accepted; its id is the session id."},
		{Name: ns + ".session.close", Severity: Info, Summary: "The connection ended.", Fields: []FieldDoc{
			F("reason", "string", "client, server, timeout, limit or error"),
			F("duration_ms", "int", "how long the connection lasted"),
			F("bytes_in", "int", "bytes read from the client"),
			F("bytes_out", "int", "bytes written to the client"),
			F("event_count", "int", "events of the session, this one included"),
		}},
		{Name: ns + ".session.rejected", Severity: Low, Summary: "Connections were refused over the per-source or total limit (reported once a minute per listener).", Fields: []FieldDoc{
			F("reason", "string", "which limit"),
		}},
		{Name: ns + ".protocol.error", Severity: Low, Summary: "The client sent something the protocol does not allow, or its handler failed.", Fields: []FieldDoc{
			F("error", "string", "what was wrong"),
		}},
		{Name: ns + ".session.tarpitted", Severity: Medium, Summary: "An operator's tarpit caught the connection: its bytes are trickled both ways until the tarpit is lifted (once per connection).", Fields: []FieldDoc{
			F("port", "int", "the decky's port the tarpit is on"),
			F("rate", "int", "bytes per second each way"),
			F("source", "string", "the tarpit's source filter (empty: every source)"),
		}},
	}
}

// PacketTypes are the types every datagram protocol namespace emits
// through the shared UDP machinery.
func PacketTypes(ns string) []Type {
	return []Type{
		{Name: ns + ".rate.limited", Severity: Low, Summary: "A source passed its packet rate; until it slows down it gets only replies no larger than its requests (reported once a minute per source).", Fields: []FieldDoc{
			F("rate", "float", "full answers per second allowed after the burst"),
			F("burst", "int", "full answers a quiet source may get at once"),
		}},
	}
}

// LoginTypes are the login outcomes of a namespace whose service takes
// credentials; both carry the credential object.
func LoginTypes(ns string, fields ...FieldDoc) []Type {
	return []Type{
		{Name: ns + ".login.failed", Severity: Medium, Credential: true, Summary: "A login attempt was refused.", Fields: fields},
		{Name: ns + ".login.success", Severity: High, Credential: true, Summary: "A login attempt was accepted.", Fields: fields},
	}
}
