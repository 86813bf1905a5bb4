// Package mongodb describes the mongodb service. MongoDB: OP_MSG and OP_QUERY, SCRAM captured, bait collections when auth is off.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package mongodb

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the mongodb service's settings.
type Settings struct {
	Version string `json:"version" doc:"Server version"`
	ReplSet string `json:"repl_set" doc:"Replica set name"`
}

func init() {
	service.Register(service.Info{
		ID: "mongodb", Title: "MongoDB server", Ports: service.TCPPorts(27017),
		Settings: func() any { return &Settings{} },
		Legacy:   []service.Legacy{{Key: "mongodb_version", Setting: "version"}},
	})
}
