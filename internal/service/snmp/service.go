// Package snmp describes the snmp service. SNMP v1/v2c agent consistent with the persona; communities and v3 users captured.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package snmp

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the snmp service's settings.
type Settings struct {
	Communities []string `json:"communities" doc:"Accepted community strings"`
	SysDescr    string   `json:"sys_descr" doc:"sysDescr (default from the persona)"`
	SysLocation string   `json:"sys_location" doc:"sysLocation"`
	SysContact  string   `json:"sys_contact" doc:"sysContact"`
}

func init() {
	service.Register(service.Info{
		ID: "snmp", Title: "SNMP agent", Ports: service.UDPPorts(161),
		Settings: func() any { return &Settings{} },
		Legacy:   []service.Legacy{{Key: "snmp_community", Setting: "communities"}},
	})
}
