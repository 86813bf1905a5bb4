package rdp

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Port is the Remote Desktop port.
const Port = 3389

// Settings are the rdp service's settings.
type Settings struct {
	NLA bool `json:"nla" doc:"Require Network Level Authentication (CredSSP): a client offering only TLS or standard RDP security is refused with HYBRID_REQUIRED_BY_SERVER; off, it is refused with SSL_REQUIRED_BY_SERVER or served TLS (Windows personas; xrdp never does NLA)"`
}

func defaults() *Settings { return &Settings{NLA: true} }

func init() {
	service.Register(service.Info{
		ID: "rdp", Title: "Remote Desktop", Ports: service.TCPPorts(Port),
		// Windows' own Remote Desktop Services; a Linux or BSD persona
		// is xrdp, as it ships in those distributions.
		OS:       append(persona.WindowsFamilies(), persona.Linux, persona.BSD),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "os_version", Note: "the OS version follows the persona's distro"}},
		Events: append(event.LoginTypes("rdp",
			event.F("user", "string", "user of the NTLM AUTHENTICATE"),
			event.F("domain", "string", "its domain"),
			event.F("workstation", "string", "the client's workstation name"),
			event.F("credssp_version", "int", "CredSSP version the client speaks"),
		),
			event.Type{Name: "rdp.client.hello", Severity: event.Low, Summary: "An X.224 Connection Request: the mstshash cookie (a user name), the security protocols asked for and what the server chose.", Fields: []event.FieldDoc{
				event.F("cookie", "string", "the mstshash user name, or the routing token"),
				event.F("routing_token", "bool", "the cookie was a load-balancer routing token"),
				event.F("negotiation", "bool", "an RDP_NEG_REQ was sent (clients since RDP 5.2)"),
				event.F("requested_protocols", "list", "rdp, ssl, hybrid, rdstls, hybrid_ex, rdsaad"),
				event.F("requested_mask", "int", "requestedProtocols as sent"),
				event.F("flags", "int", "the RDP_NEG_REQ flags: a client fingerprint"),
				event.F("correlation_id", "string", "RDP_NEG_CORRELATION_INFO id, hex, when sent"),
				event.F("selected", "string", "protocol chosen, or the failure code sent"),
			}},
			event.Type{Name: "rdp.ntlm.challenge", Severity: event.Low, Summary: "An NTLM NEGOTIATE inside CredSSP answered with the decky's CHALLENGE (what rdp-ntlm-info reads).", Fields: []event.FieldDoc{
				event.F("client_flags", "string", "the NEGOTIATE flags, hex"),
				event.F("client_version", "string", "the client's OS version from the NEGOTIATE"),
				event.F("credssp_version", "int", "CredSSP version the client speaks"),
				event.F("spnego", "bool", "the token came wrapped in SPNEGO"),
			}},
			event.Type{Name: "rdp.client.info", Severity: event.Low, Summary: "The client's MCS Connect Initial core data: its computer name, build and keyboard.", Fields: []event.FieldDoc{
				event.F("client_name", "string", "the client's computer name"),
				event.F("client_build", "int", "its build number"),
				event.F("keyboard_layout", "string", "keyboard layout id, hex"),
				event.F("desktop", "string", "width x height asked for"),
			}},
			tlsserver.HandshakeType("rdp"),
		),
	})
}
