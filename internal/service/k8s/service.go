// Package k8s describes the k8s service. Kubernetes API server: TLS, discovery, anonymous requests refused, tokens and pod bodies captured.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package k8s

import (
	"github.com/decnet/decnet/internal/service"
)

func init() {
	service.Register(service.Info{
		ID: "k8s", Title: "Kubernetes API server", Ports: service.TCPPorts(6443),
		Settings: func() any { return &service.Version{Version: "v1.27.4"} },
	})
}
