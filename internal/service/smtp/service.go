package smtp

import (
	"fmt"
	"strings"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Settings are the SMTP service's settings.
type Settings struct {
	Banner    string   `json:"banner" doc:"Greeting text after '220 ' (default: the MTA's own greeting on the persona's hostname)"`
	MTA       string   `json:"mta" doc:"MTA the decky is: postfix, exim or exchange (default: Postfix, Exchange on Windows)"`
	OpenRelay bool     `json:"open_relay" doc:"Accept relaying to any domain"`
	Users     []string `json:"users" doc:"user:password pairs AUTH accepts (default: none; every attempt is captured and fails)"`
}

// RelaySettings are the smtp_relay service's settings: SMTP's and the
// upstream that probe messages go to.
type RelaySettings struct {
	Settings
	UpstreamHost   string `json:"upstream_host" doc:"Relay used to deliver probe messages"`
	UpstreamPort   int    `json:"upstream_port" min:"1" max:"65535" doc:"Port of upstream_host"`
	UpstreamUser   string `json:"upstream_user" doc:"Login on upstream_host"`
	UpstreamPass   string `json:"upstream_pass" kind:"secret" doc:"Password on upstream_host"`
	UpstreamSender string `json:"upstream_sender" doc:"Envelope sender for probe messages"`
	ProbeLimit     int    `json:"probe_limit" min:"0" max:"100" doc:"Probe messages relayed per attacker (only with upstream_host)"`
}

func defaults() *Settings { return &Settings{} }

// Validate implements service.Validator.
func (s *Settings) Validate() error {
	switch strings.ToLower(s.MTA) {
	case "", "postfix", "exim", "exchange":
		return nil
	}
	return fmt.Errorf("mta %q is not postfix, exim or exchange", s.MTA)
}

var _ service.Validator = (*Settings)(nil)

func relayDefaults() *RelaySettings {
	return &RelaySettings{Settings: Settings{OpenRelay: true}, UpstreamPort: 587, ProbeLimit: 1}
}

// Ports: SMTP and message submission.
const (
	Port           = 25
	SubmissionPort = 587
)

var envelope = []event.FieldDoc{
	event.F("helo", "string", "the HELO/EHLO name"),
	event.F("mail_from", "string", "the envelope sender"),
	event.F("rcpt_to", "list", "the envelope recipients accepted"),
}

func init() {
	events := append(event.LoginTypes("smtp",
		event.F("mechanism", "string", "PLAIN, LOGIN or CRAM-MD5"),
		event.F("port", "int", "25 or 587"),
	),
		event.Type{Name: "smtp.client.helo", Severity: event.Low, Summary: "The client's HELO or EHLO.", Fields: []event.FieldDoc{
			event.F("command", "string", "HELO or EHLO"),
			event.F("helo", "string", "the name it gave"),
		}},
		event.Type{Name: "smtp.command.input", Severity: event.Low, Summary: "A command other than the envelope, AUTH and DATA.", Fields: []event.FieldDoc{
			event.F("verb", "string", "the command word"),
			event.F("args", "string", "its arguments"),
			event.F("reply", "int", "the reply code given"),
		}},
		event.Type{Name: "smtp.rcpt.refused", Severity: event.Medium, Summary: "A recipient refused: relaying denied, no such local user, or a bad address.", Fields: append(envelope,
			event.F("rcpt", "string", "the recipient"),
			event.F("reason", "string", "relay_denied, unknown_user or syntax"),
		)},
		event.Type{Name: "smtp.message.received", Severity: event.High, Summary: "A whole message, quarantined by SHA-256, attachments too; never delivered.", Fields: append(envelope,
			event.F("sha256", "string", "the raw message in the quarantine"),
			event.F("size", "int", "bytes"),
			event.F("subject", "string", "Subject header"),
			event.F("from_header", "string", "From header"),
			event.F("message_id", "string", "Message-ID header"),
			event.F("attachments", "list", "name, content type, size and sha256 of each attachment"),
			event.F("relay", "bool", "a recipient outside the decky's domains (an open-relay attempt)"),
			event.F("probe_forwarded", "bool", "smtp_relay: forwarded upstream as a relay tester's probe"),
		)},
		tlsserver.HandshakeType("smtp"),
	)
	legacy := []service.Legacy{{Key: "smtp_banner", Setting: "banner"}}
	service.Register(service.Info{
		ID: "smtp", Title: "SMTP server", Ports: service.TCPPorts(Port, SubmissionPort),
		Settings: func() any { return defaults() },
		New:      serve.Factory(func(env serve.Env) (serve.Server, error) { return newServer(env, false) }),
		Legacy:   legacy,
		Events:   events,
	})
	service.Register(service.Info{
		ID: "smtp_relay", Title: "SMTP open relay", Ports: service.TCPPorts(Port, SubmissionPort), Namespace: "smtp",
		Settings: func() any { return relayDefaults() },
		New:      serve.Factory(func(env serve.Env) (serve.Server, error) { return newServer(env, true) }),
		Legacy:   legacy,
	})
}
