package telnet

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/authpolicy"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/shell"
)

// Settings are the Telnet service's settings.
type Settings struct {
	authpolicy.Logins
	shell.Host
	// Banner is nil when not set: the distro's /etc/issue is shown then.
	Banner *string `json:"banner" kind:"text" doc:"Text before the login prompt (default: the distro's /etc/issue)"`
}

func defaults() *Settings { return &Settings{} }

func init() {
	service.Register(service.Info{
		ID: "telnet", Title: "Telnet login", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "kernel_version", Setting: "kernel"}},
		Events: append(event.LoginTypes("telnet"),
			event.Type{Name: "telnet.client.negotiate", Severity: event.Low, Summary: "The client's option negotiation, a fingerprint of its telnet implementation.", Fields: []event.FieldDoc{
				event.F("options", "list", "options the client offered or asked for, in order"),
				event.F("options_sha256", "string", "hash of that sequence"),
				event.F("ttype", "string", "terminal type"),
				event.F("cols", "int", "window width (NAWS)"),
				event.F("rows", "int", "window height (NAWS)"),
			}},
			event.Type{Name: "telnet.command.input", Severity: event.High, Summary: "A command line run in the emulated shell.", Fields: []event.FieldDoc{
				event.F("command", "string", "the line"),
				event.F("command_b64", "string", "the same bytes, base64"),
				event.F("cwd", "string", "the shell's directory"),
				event.F("user", "string", "the logged-in user"),
				event.F("known", "bool", "the emulated shell knows the command"),
			}},
			event.Type{Name: "telnet.file.fetch", Severity: event.High, Summary: "A download tool pointed at a URL; nothing is fetched.", Fields: []event.FieldDoc{
				event.F("tool", "string", "the command"),
				event.F("url", "string", "the URL"),
			}},
			event.Type{Name: "telnet.transcript.saved", Severity: event.Info, Summary: "The recording of a session, quarantined by SHA-256.", Fields: []event.FieldDoc{
				event.F("sha256", "string", "the recording's blob"),
			}},
		),
	})
}
