package ftp

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Settings are the FTP service's settings.
type Settings struct {
	Banner    string   `json:"banner" doc:"Greeting after 220 (default: vsftpd or ProFTPD per persona)"`
	Anonymous bool     `json:"anonymous" doc:"Allow anonymous login"`
	Users     []string `json:"users" doc:"Accepted user:password pairs"`
}

func defaults() *Settings { return &Settings{} }

func init() {
	service.Register(service.Info{
		ID: "ftp", Title: "FTP server", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "ftp_banner", Setting: "banner"}},
		Events: append(event.LoginTypes("ftp",
			event.F("user", "string", "the USER given"),
			event.F("anonymous", "bool", "an anonymous login"),
		),
			event.Type{Name: "ftp.command.input", Severity: event.Medium, Summary: "A control command.", Fields: []event.FieldDoc{
				event.F("verb", "string", "the command word"),
				event.F("args", "string", "its argument"),
				event.F("cwd", "string", "the working directory"),
				event.F("logged_in", "bool", "sent after a login"),
				event.F("user", "string", "the user"),
			}},
			event.Type{Name: "ftp.file.download", Severity: event.High, Summary: "A file retrieved (RETR).", Fields: []event.FieldDoc{
				event.F("path", "string", "the file"),
				event.F("bytes", "int", "bytes sent"),
				event.F("size", "int", "the file's size"),
				event.F("complete", "bool", "the transfer finished"),
			}},
			event.Type{Name: "ftp.file.upload", Severity: event.High, Summary: "A file stored (STOR, APPE, STOU), quarantined by SHA-256.", Fields: []event.FieldDoc{
				event.F("path", "string", "where the client put it"),
				event.F("file_name", "string", "its base name"),
				event.F("command", "string", "the command"),
				event.F("sha256", "string", "the quarantined blob"),
				event.F("size", "int", "bytes received"),
			}},
			event.Type{Name: "ftp.exploit.attempt", Severity: event.Critical, Summary: "A known exploit: the vsftpd 2.3.4 backdoor or ProFTPD mod_copy.", Fields: []event.FieldDoc{
				event.F("vulnerability_id", "string", "CVE"),
				event.F("rule", "string", "which detection fired"),
			}},
		),
	})
}
