package mysql

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

func defaults() *service.Version { return &service.Version{} }

func init() {
	service.Register(service.Info{
		ID: "mysql", Title: "MySQL server", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "mysql_version", Setting: "version"}},
		Events: append(event.LoginTypes("mysql",
			event.F("user", "string", "the user"),
			event.F("auth_plugin", "string", "mysql_native_password, caching_sha2_password, ..."),
			event.F("using_password", "bool", "a password was sent"),
			event.F("error_code", "int", "the error answered (1045)"),
		),
			event.Type{Name: "mysql.client.hello", Severity: event.Low, Summary: "The client's handshake response: capabilities, charset, connection attributes.", Fields: []event.FieldDoc{
				event.F("capabilities", "string", "capability flags, hex"),
				event.F("capability_flags", "list", "the flags by name"),
				event.F("max_packet", "int", "max packet size asked for"),
				event.F("charset", "int", "collation id"),
				event.F("tls_requested", "bool", "the client asked for TLS"),
				event.F("server_version", "string", "the version the decky claimed"),
			}},
		),
	})
}
