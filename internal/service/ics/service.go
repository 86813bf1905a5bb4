// Package ics describes the ics service. ICS: Modbus/TCP and S7comm over COTP with a bait PLC (the original's conpot).
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package ics

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the ics service's settings.
type Settings struct {
	Template string `json:"template" enum:"siemens_s7_1200,schneider_m221,generic_modbus" doc:"Device persona"`
	Vendor   string `json:"vendor" doc:"Vendor name reported"`
	Product  string `json:"product" doc:"Product name reported"`
}

func init() {
	service.Register(service.Info{
		ID: "ics", Title: "Industrial controller (Modbus/TCP, S7comm)", Ports: service.TCPPorts(502, 102),
		Aliases: []string{"conpot"}, Namespace: "modbus",
		Settings: func() any { return &Settings{Template: "siemens_s7_1200"} },
	})
}
