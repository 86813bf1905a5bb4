// Package mssql describes the mssql service. Microsoft SQL Server: TDS PRELOGIN and LOGIN7, the password de-obfuscated and captured.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package mssql

import (
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

// Settings are the mssql service's settings.
type Settings struct {
	Version string `json:"version" doc:"Product version, e.g. 15.0.2000.5"`
}

func init() {
	service.Register(service.Info{
		ID: "mssql", Title: "Microsoft SQL Server", Ports: service.TCPPorts(1433),
		OS:       persona.WindowsFamilies(),
		Settings: func() any { return &Settings{} },
		Legacy:   []service.Legacy{{Key: "mssql_version", Setting: "version"}, {Key: "server_name", Note: "the server name is the persona's hostname"}},
	})
}
