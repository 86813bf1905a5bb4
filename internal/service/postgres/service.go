// Package postgres describes the postgres service. PostgreSQL: startup, SSLRequest, md5 and SCRAM authentication captured, a bait catalog.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package postgres

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the postgres service's settings.
type Settings struct {
	Version   string   `json:"version" doc:"Server version"`
	Databases []string `json:"databases" doc:"Database names that exist"`
}

func init() {
	service.Register(service.Info{
		ID: "postgres", Title: "PostgreSQL server", Ports: service.TCPPorts(5432),
		Settings: func() any { return &Settings{} },
		Legacy:   []service.Legacy{{Key: "postgres_version", Setting: "version"}},
	})
}
