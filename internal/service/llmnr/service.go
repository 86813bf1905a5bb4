// Package llmnr describes the llmnr service. LLMNR, NBT-NS and mDNS poisoning watch: the decky queries bait names and reports whoever answers.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package llmnr

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the llmnr service's settings.
type Settings struct {
	BaitNames []string `json:"bait_names" doc:"Names queried to catch poisoners"`
}

func init() {
	service.Register(service.Info{
		ID: "llmnr", Title: "LLMNR/mDNS responder watch", Ports: service.UDPPorts(5355, 5353),
		Settings: func() any { return &Settings{} },
	})
}
