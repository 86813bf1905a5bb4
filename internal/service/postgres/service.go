package postgres

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Settings are the postgres service's settings.
type Settings struct {
	Version    string   `json:"version" doc:"Server version, e.g. 15.18 (Debian 15.18-0+deb12u1) (default: the distro's package)"`
	Databases  []string `json:"databases" doc:"Database names that exist besides postgres, template0 and template1 (default: two seeded application names)"`
	Users      []string `json:"users" doc:"user:password pairs that log in (default: none; every attempt is captured and fails)"`
	AuthMethod string   `json:"auth_method" enum:"auto,md5,scram-sha-256" doc:"Password method asked of clients: auto follows the version's default (scram-sha-256 from 14, md5 before); md5 gives hashcat-crackable captures"`
	SSL        string   `json:"ssl" enum:"auto,on,off" doc:"Answer SSLRequest with S and TLS (auto: as the distro's package, on for Debian, Ubuntu and Kali)"`
}

func defaults() *Settings { return &Settings{AuthMethod: "auto", SSL: "auto"} }

func init() {
	service.Register(service.Info{
		ID: "postgres", Title: "PostgreSQL server", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "postgres_version", Setting: "version"}},
		Events: append(event.LoginTypes("postgres",
			event.F("user", "string", "the user of the startup packet"),
			event.F("database", "string", "the database asked for"),
			event.F("method", "string", "md5 or SCRAM-SHA-256(-PLUS)"),
			event.F("error_code", "string", "SQLSTATE answered (28P01)"),
			event.F("tls", "bool", "the exchange ran over TLS"),
		),
			event.Type{Name: "postgres.client.startup", Severity: event.Low, Summary: "A StartupMessage: user, database, application and the other parameters the client sent.", Fields: []event.FieldDoc{
				event.F("user", "string", "user parameter"),
				event.F("database", "string", "database parameter (defaults to the user)"),
				event.F("application_name", "string", "application_name parameter"),
				event.F("params", "object", "every parameter, capped"),
				event.F("protocol", "string", "protocol version asked for"),
				event.F("tls", "bool", "the startup came over TLS"),
			}},
			event.Type{Name: "postgres.query.input", Severity: event.Medium, Summary: "A statement sent after login (simple or extended query).", Fields: []event.FieldDoc{
				event.F("query", "string", "the statement text (capped)"),
				event.F("protocol", "string", "simple or extended"),
				event.F("params", "list", "Bind parameters (extended), capped"),
				event.F("database", "string", "the session's database"),
				event.F("user", "string", "the session's user"),
				event.F("result", "string", "the command tag or SQLSTATE answered"),
				event.F("attack", "string", "a known attack pattern: copy_from_program, large_object, extension, file_read, ..."),
			}},
			tlsserver.HandshakeType("postgres"),
		),
	})
}
