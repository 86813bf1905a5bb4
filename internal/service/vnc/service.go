// Package vnc describes the vnc service. VNC: RFB 3.3/3.7/3.8 with VNC authentication captured.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package vnc

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the vnc service's settings.
type Settings struct {
	Version string `json:"version" enum:"3.3,3.7,3.8" doc:"RFB protocol version"`
}

func init() {
	service.Register(service.Info{
		ID: "vnc", Title: "VNC server", Ports: service.TCPPorts(5900),
		Settings: func() any { return &Settings{Version: "3.8"} },
	})
}
