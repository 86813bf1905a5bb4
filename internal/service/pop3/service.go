package pop3

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/mailbox"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Ports: POP3 with STLS, and POP3 over TLS.
const (
	Port    = 110
	TLSPort = 995
)

func init() {
	service.Register(service.Info{
		ID: "pop3", Title: "POP3 server", Ports: service.TCPPorts(Port, TLSPort),
		Settings: func() any { return mailbox.Defaults() },
		New:      serve.Factory(New),
		Events: append(event.LoginTypes("pop3",
			event.F("mechanism", "string", "USER, PLAIN or LOGIN"),
			event.F("port", "int", "110 or 995"),
		),
			tlsserver.HandshakeType("pop3"),
			event.Type{Name: "pop3.command.input", Severity: event.Low, Summary: "A command after login.", Fields: []event.FieldDoc{
				event.F("command", "string", "the command, upper case"),
				event.F("args", "string", "its arguments (capped)"),
			}},
			event.Type{Name: "pop3.message.read", Severity: event.Medium, Summary: "A bait message was retrieved (RETR) or its top read (TOP).", Fields: []event.FieldDoc{
				event.F("command", "string", "RETR or TOP"),
				event.F("number", "int", "the message number"),
				event.F("subject", "string", "its subject"),
				event.F("from", "string", "its sender"),
			}},
		),
	})
}
