package mssql

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Port is SQL Server's default instance port.
const Port = 1433

// Settings are the mssql service's settings.
type Settings struct {
	Version string `json:"version" doc:"SQL Server build the PRELOGIN announces, e.g. 15.0.2000.5 (2019 RTM) or 16.0.1000.6 (2022 RTM) (default: a seeded release and cumulative update fitting the Windows version)"`
}

func defaults() *Settings { return &Settings{} }

func init() {
	service.Register(service.Info{
		ID: "mssql", Title: "Microsoft SQL Server", Ports: service.TCPPorts(Port),
		OS:       persona.WindowsFamilies(),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "mssql_version", Setting: "version"}, {Key: "server_name", Note: "the server name is the persona's hostname"}},
		Events: append(event.LoginTypes("mssql",
			event.F("user", "string", "the login name (SQL login) or the NTLM user"),
			event.F("domain", "string", "the NTLM domain (integrated login)"),
			event.F("method", "string", "sql or integrated"),
			event.F("app", "string", "application name the client sent"),
			event.F("host", "string", "client host name"),
			event.F("library", "string", "client interface library (ODBC, SqlClient, DB-Library, go-mssqldb, ...): a fingerprint"),
			event.F("database", "string", "database asked for"),
			event.F("server", "string", "server name the client connected to"),
			event.F("tds_version", "string", "TDS version of the LOGIN7"),
			event.F("error", "int", "SQL Server error answered (18456, 18452)"),
			event.F("tls", "bool", "the LOGIN7 came inside TLS"),
		),
			event.Type{Name: "mssql.client.prelogin", Severity: event.Low, Summary: "A PRELOGIN: the client's driver version, encryption wish, instance and thread id.", Fields: []event.FieldDoc{
				event.F("client_version", "string", "the VERSION option: the client library's version"),
				event.F("encryption", "string", "off, on, not_supported or required"),
				event.F("instance", "string", "the INSTOPT instance name"),
				event.F("thread_id", "int", "the client's thread id"),
				event.F("mars", "bool", "MARS asked for"),
				event.F("options", "list", "option tokens in the order sent: a fingerprint"),
			}},
			event.Type{Name: "mssql.ntlm.challenge", Severity: event.Low, Summary: "An integrated login's NTLM NEGOTIATE answered with the decky's CHALLENGE (what ms-sql-ntlm-info reads).", Fields: []event.FieldDoc{
				event.F("client_flags", "string", "the NEGOTIATE flags, hex"),
				event.F("client_version", "string", "the client's OS version from the NEGOTIATE"),
				event.F("spnego", "bool", "the token came wrapped in SPNEGO"),
			}},
			tlsserver.HandshakeType("mssql"),
		),
	})
}
