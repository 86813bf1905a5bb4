// Package tftp describes the tftp service. TFTP (RFC 1350 with the option extensions): reads of bait files, writes captured to quarantine.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package tftp

import (
	"github.com/decnet/decnet/internal/service"
)

func init() {
	service.Register(service.Info{
		ID: "tftp", Title: "TFTP server", Ports: service.UDPPorts(69),
	})
}
