// Package rdp describes the rdp service. RDP: X.224 negotiation, TLS and CredSSP/NLA with NTLM capture.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package rdp

import (
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

// Settings are the rdp service's settings.
type Settings struct {
	NLA bool `json:"nla" doc:"Require Network Level Authentication (CredSSP)"`
}

func init() {
	service.Register(service.Info{
		ID: "rdp", Title: "Remote Desktop", Ports: service.TCPPorts(3389),
		OS:       persona.WindowsFamilies(),
		Settings: func() any { return &Settings{NLA: true} },
		Legacy:   []service.Legacy{{Key: "os_version", Note: "the OS version follows the persona's distro"}},
	})
}
