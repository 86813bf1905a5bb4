package imap

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/mailbox"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Ports: IMAP with STARTTLS, and IMAP over TLS.
const (
	Port    = 143
	TLSPort = 993
)

func init() {
	service.Register(service.Info{
		ID: "imap", Title: "IMAP server", Ports: service.TCPPorts(Port, TLSPort),
		Settings: func() any { return mailbox.Defaults() },
		New:      serve.Factory(New),
		Events: append(event.LoginTypes("imap",
			event.F("mechanism", "string", "LOGIN, PLAIN or AUTH=LOGIN"),
			event.F("port", "int", "143 or 993"),
		),
			tlsserver.HandshakeType("imap"),
			event.Type{Name: "imap.command.input", Severity: event.Low, Summary: "A command after login.", Fields: []event.FieldDoc{
				event.F("command", "string", "the command, upper case (UID FETCH, SELECT, ...)"),
				event.F("args", "string", "its arguments as sent (capped)"),
				event.F("mailbox", "string", "the selected mailbox"),
			}},
			event.Type{Name: "imap.message.read", Severity: event.Medium, Summary: "A bait message's body was fetched.", Fields: []event.FieldDoc{
				event.F("mailbox", "string", "the mailbox"),
				event.F("uid", "int", "the message's UID"),
				event.F("subject", "string", "its subject"),
				event.F("from", "string", "its sender"),
			}},
			event.Type{Name: "imap.message.append", Severity: event.High, Summary: "A message uploaded with APPEND, quarantined by SHA-256; kept for the session only.", Fields: []event.FieldDoc{
				event.F("mailbox", "string", "the target mailbox"),
				event.F("sha256", "string", "the message in the quarantine"),
				event.F("size", "int", "its size in bytes"),
			}},
		),
	})
}
