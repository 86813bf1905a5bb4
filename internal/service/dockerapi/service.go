// Package dockerapi describes the docker_api service. Docker Engine API: a believable host, every create, exec and pull captured, nothing run.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package dockerapi

import (
	"github.com/decnet/decnet/internal/service"
)

func init() {
	service.Register(service.Info{
		ID: "docker_api", Title: "Docker Engine API", Ports: service.TCPPorts(2375),
		Aliases: []string{"docker-api"}, Namespace: "docker",
		Settings: func() any { return &service.Version{Version: "24.0.5"} },
	})
}
