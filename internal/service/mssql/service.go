// Package mssql describes the mssql service. Microsoft SQL Server: TDS PRELOGIN and LOGIN7, the password de-obfuscated and captured.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package mssql

import (
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

func init() {
	service.Register(service.Info{
		ID: "mssql", Title: "Microsoft SQL Server", Ports: service.TCPPorts(1433),
		OS:       persona.WindowsFamilies(),
		Settings: func() any { return &service.Version{} },
		Legacy:   []service.Legacy{{Key: "mssql_version", Setting: "version"}, {Key: "server_name", Note: "the server name is the persona's hostname"}},
	})
}
