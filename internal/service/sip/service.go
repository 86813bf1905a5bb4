package sip

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is SIP's port, over UDP and TCP.
const Port = 5060

// Settings are the sip service's settings.
type Settings struct {
	Product   string   `json:"product" enum:"asterisk,freepbx,yealink" doc:"What answers: an Asterisk PBX, a FreePBX, or a Yealink desk phone"`
	UserAgent string   `json:"user_agent" doc:"Server (PBX) or User-Agent (phone) header (default: the product's, version seeded)"`
	Realm     string   `json:"realm" doc:"Digest realm (default: asterisk, as Asterisk's)"`
	Accounts  []string `json:"accounts" doc:"extension:password pairs whose Digest is accepted (default: none)"`
}

func defaults() *Settings { return &Settings{Product: "asterisk"} }

func init() {
	service.Register(service.Info{
		ID: "sip", Title: "SIP registrar", Ports: []service.Port{{Number: Port, Proto: service.UDP}, {Number: Port, Proto: service.TCP}},
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: append(event.LoginTypes("sip",
			event.F("method", "string", "the request method the Digest was for"),
			event.F("realm", "string", "the realm"),
			event.F("nonce_ours", "bool", "whether the nonce is one this decky issued (false: replayed or forged)"),
		),
			event.Type{Name: "sip.request.received", Severity: event.Low, Summary: "A SIP request; scanners announce themselves in user_agent (SIPVicious: friendly-scanner).", Fields: []event.FieldDoc{
				event.F("method", "string", "the method"),
				event.F("request_uri", "string", "the Request-URI"),
				event.F("from", "string", "From"),
				event.F("to", "string", "To"),
				event.F("to_user", "string", "the extension addressed"),
				event.F("contact", "string", "Contact"),
				event.F("call_id", "string", "Call-ID"),
				event.F("cseq", "string", "CSeq"),
				event.F("via", "string", "the top Via"),
				event.F("user_agent", "string", "User-Agent"),
				event.F("status", "int", "the status answered, 0 for none"),
			}},
			event.Type{Name: "sip.call.attempt", Severity: event.High, Summary: "An INVITE: the number dialled and the caller ID, the toll-fraud signal.", Fields: []event.FieldDoc{
				event.F("dialled", "string", "the number or extension dialled"),
				event.F("caller_id", "string", "the From display name and user"),
				event.F("authenticated", "bool", "whether it carried accepted credentials"),
				event.F("sdp_media", "list", "the m= lines of its SDP (capped)"),
			}},
			event.Type{Name: "sip.scan.detected", Severity: event.Medium, Summary: "A source addressed many extensions: an extension scan (svwar, sipvicious), reported once per source per hour.", Fields: []event.FieldDoc{
				event.F("extensions", "int", "distinct extensions addressed so far"),
				event.F("sample", "list", "some of them"),
				event.F("user_agent", "string", "the scanner's User-Agent"),
			}},
		),
	})
}
