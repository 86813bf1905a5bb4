package dns

import (
	"errors"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Settings are the dns service's settings.
type Settings struct {
	ZoneMode      string   `json:"zone_mode" enum:"auth,recursive,open" doc:"auth refuses names outside its zone as BIND does for a client not allowed recursion; recursive and open offer recursion (RA set) and sinkhole other names to a seeded address, never forwarding"`
	Domain        string   `json:"domain" doc:"Zone served (default: a seeded company domain)"`
	BindVersion   string   `json:"bind_version" doc:"version.bind answer (default: the distro's BIND, 9.18.49-1~deb12u3-Debian on Debian 12)"`
	NSID          string   `json:"nsid" doc:"server-id: the NSID option and the id.server answer (default: none, as BIND)"`
	ExtraRecords  []string `json:"extra_records" doc:"Extra records as 'name TYPE value' (A, AAAA, CNAME, NS, PTR, MX, TXT; names relative to the zone unless they end with a dot)"`
	AXFR          string   `json:"axfr" enum:"refuse,allow" doc:"refuse answers zone transfers as allow-transfer { none; }; allow hands out the bait zone over TCP. Every attempt is an event"`
	RealRecursive bool     `json:"real_recursive" doc:"Not supported: the decoy never forwards queries (kept for the original's configs; true is refused)"`
	Upstream      string   `json:"upstream" doc:"Not supported (see real_recursive)"`
	ForwardBudget int      `json:"forward_budget" min:"0" max:"10000" doc:"Not supported (see real_recursive)"`
}

func defaults() *Settings {
	return &Settings{ZoneMode: "auth", AXFR: "refuse", ForwardBudget: 50}
}

// Validate implements service.Validator.
func (s *Settings) Validate() error {
	if s.RealRecursive || s.Upstream != "" {
		return errors.New("real_recursive and upstream are not supported: the dns decoy never forwards queries (an open forwarder is an amplifier); use zone_mode recursive to sinkhole them")
	}
	_, err := buildZone(zoneSpec{domain: orDefault(s.Domain, "example.com"), extra: s.ExtraRecords})
	return err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func init() {
	service.Register(service.Info{
		ID: "dns", Title: "DNS server", Ports: []service.Port{{Number: Port, Proto: service.UDP}, {Number: Port, Proto: service.TCP}},
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: []event.Type{
			{Name: "dns.query.received", Severity: event.Info, Summary: "A query, and what the server answered.", Fields: []event.FieldDoc{
				event.F("qname", "string", "the name asked, lower case"),
				event.F("qtype", "string", "the type asked (A, MX, ANY, TYPE65, ...)"),
				event.F("qclass", "string", "the class asked (IN, CH, ...)"),
				event.F("id", "int", "the message id"),
				event.F("opcode", "int", "the opcode"),
				event.F("rd", "bool", "recursion desired"),
				event.F("edns", "bool", "the query had an OPT record"),
				event.F("edns_size", "int", "its UDP payload size"),
				event.F("dnssec_ok", "bool", "the DO bit"),
				event.F("cookie", "bool", "the query carried a DNS cookie"),
				event.F("rcode", "string", "the answer's rcode (NOERROR, NXDOMAIN, REFUSED, ...)"),
				event.F("answers", "int", "answer records sent"),
				event.F("truncated", "bool", "the answer was cut and TC set"),
				event.F("in_zone", "bool", "the name is in a zone the server is authoritative for"),
			}},
			{Name: "dns.zone.transfer", Severity: event.High, Summary: "A zone transfer (AXFR or IXFR) was attempted; refused or served per the axfr setting.", Fields: []event.FieldDoc{
				event.F("qname", "string", "the zone asked"),
				event.F("qtype", "string", "AXFR or IXFR"),
				event.F("outcome", "string", "refused, served, notauth or formerr"),
				event.F("records", "int", "records sent"),
			}},
			{Name: "dns.version.probe", Severity: event.Low, Summary: "A CHAOS-class query for the server's identity (version.bind, hostname.bind, id.server, authors.bind), as fingerprinting tools send.", Fields: []event.FieldDoc{
				event.F("qname", "string", "the CHAOS name asked"),
				event.F("qtype", "string", "the type asked"),
				event.F("answer", "string", "the text answered, if any"),
			}},
		},
	})
}
