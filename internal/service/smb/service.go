// Package smb describes the smb service. SMB: Windows file sharing (or Samba on a Linux persona), NTLM capture and bait shares.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package smb

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the smb service's settings.
type Settings struct {
	Workgroup string   `json:"workgroup" doc:"NetBIOS domain or workgroup"`
	Shares    []string `json:"shares" doc:"Share names offered"`
}

func init() {
	service.Register(service.Info{
		ID: "smb", Title: "SMB file sharing", Ports: service.TCPPorts(445, 139),
		Settings: func() any { return &Settings{Workgroup: "WORKGROUP"} },
		Legacy:   []service.Legacy{{Key: "os_version", Note: "the OS version follows the persona's distro"}, {Key: "server_name", Note: "the NetBIOS name is the persona's hostname"}},
	})
}
