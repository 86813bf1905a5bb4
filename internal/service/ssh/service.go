package ssh

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/authpolicy"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/shell"
)

// Settings are the SSH service's settings.
type Settings struct {
	authpolicy.Logins
	Banner string `json:"banner" doc:"Software version in the identification string (default: the distro's OpenSSH)"`
	shell.Host
	Motd string `json:"motd" kind:"text" doc:"Message of the day after login"`
	// MaxStartups is sshd_config's MaxStartups.
	MaxStartups string `json:"max_startups" doc:"sshd's MaxStartups, start:rate:full or a count: unauthenticated connections past start are dropped before the banner with a probability rising from rate% to 100% at full (default Debian's 10:30:100)"`
}

func defaults() *Settings {
	return &Settings{Logins: authpolicy.Logins{User: "ubuntu"}, MaxStartups: "10:30:100"}
}

func init() {
	login := []event.FieldDoc{
		event.F("method", "string", "password, keyboard-interactive or publickey"),
		event.F("user", "string", "the user name asked for"),
		event.F("attempt", "int", "attempt number on the connection"),
		event.F("client_version", "string", "the client's identification string"),
	}
	service.Register(service.Info{
		ID: "ssh", Title: "OpenSSH server", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy: []service.Legacy{
			{Key: "ssh_version", Setting: "banner"},
			{Key: "kernel_version", Setting: "kernel"},
		},
		Events: append(event.LoginTypes("ssh", login...),
			event.Type{Name: "ssh.client.version", Severity: event.Low, Summary: "The client's identification string.", Fields: []event.FieldDoc{
				event.F("client_version", "string", "e.g. SSH-2.0-OpenSSH_9.6"),
			}},
			event.Type{Name: "ssh.client.kex", Severity: event.Low, Summary: "The client's key exchange offer, with its HASSH fingerprint.", Fields: []event.FieldDoc{
				event.F("hassh", "string", "MD5 of the client's algorithm lists (HASSH)"),
				event.F("hassh_algorithms", "string", "the lists HASSH is computed over"),
				event.F("kex_algs", "list", "key exchange algorithms offered"),
				event.F("host_key_algs", "list", "host key algorithms offered"),
				event.F("enc_cs", "list", "ciphers, client to server"),
				event.F("mac_cs", "list", "MACs, client to server"),
				event.F("comp_cs", "list", "compression, client to server"),
			}},
			event.Type{Name: "ssh.channel.request", Severity: event.Low, Summary: "A session channel request (pty, env, shell, exec, subsystem, ...).", Fields: []event.FieldDoc{
				event.F("request", "string", "the request type"),
			}},
			event.Type{Name: "ssh.command.input", Severity: event.High, Summary: "A command line run in the emulated shell.", Fields: []event.FieldDoc{
				event.F("command_line", "string", "the line as typed or sent with exec"),
				event.F("command_b64", "string", "the same bytes, base64"),
				event.F("args", "list", "the parsed words"),
				event.F("working_directory", "string", "the shell's directory"),
				event.F("interactive", "bool", "typed in a shell rather than sent with exec"),
				event.F("user", "string", "the logged-in user"),
				event.F("known", "bool", "the emulated shell knows the command"),
				event.F("exit_code", "int", "the exit status shown"),
			}},
			event.Type{Name: "ssh.forward.request", Severity: event.High, Summary: "A port forwarding request (always denied).", Fields: []event.FieldDoc{
				event.F("kind", "string", "direct-tcpip, tcpip-forward, streamlocal, ..."),
				event.F("decision", "string", "denied"),
			}},
			event.Type{Name: "ssh.file.upload", Severity: event.High, Summary: "A file uploaded with scp or sftp, quarantined by SHA-256.", Fields: []event.FieldDoc{
				event.F("transfer", "string", "scp or sftp"),
				event.F("name", "string", "file name"),
				event.F("path", "string", "path in the emulated file system"),
				event.F("size", "int", "bytes received"),
				event.F("sha256", "string", "the quarantined blob"),
				event.F("truncated", "bool", "cut at the quarantine cap"),
			}},
			event.Type{Name: "ssh.file.download", Severity: event.Medium, Summary: "A file the client read with scp or sftp.", Fields: []event.FieldDoc{
				event.F("transfer", "string", "scp or sftp"),
				event.F("path", "string", "path in the emulated file system"),
				event.F("size", "int", "bytes sent"),
				event.F("sha256", "string", "hash of the bytes sent"),
			}},
			event.Type{Name: "ssh.file.fetch", Severity: event.High, Summary: "A download tool (wget, curl, ...) pointed at a URL; nothing is fetched.", Fields: []event.FieldDoc{
				event.F("url", "string", "the URL"),
				event.F("tool", "string", "the command"),
				event.F("fetched", "bool", "always false"),
			}},
			event.Type{Name: "ssh.transcript.saved", Severity: event.Info, Summary: "The asciicast recording of a terminal session, quarantined by SHA-256.", Fields: []event.FieldDoc{
				event.F("sha256", "string", "the recording's blob"),
				event.F("size", "int", "bytes"),
				event.F("format", "string", "asciicast-v2"),
				event.F("duration_ms", "int", "length of the session"),
			}},
		),
	})
}
