// Package sip describes the sip service. SIP: OPTIONS, REGISTER and INVITE as a PBX or phone, digest authentication captured.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package sip

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the sip service's settings.
type Settings struct {
	UserAgent string `json:"user_agent" doc:"Server header"`
	Realm     string `json:"realm" doc:"Digest realm (default: the persona's domain)"`
}

func init() {
	service.Register(service.Info{
		ID: "sip", Title: "SIP registrar", Ports: []service.Port{{Number: 5060, Proto: service.UDP}, {Number: 5060, Proto: service.TCP}},
		Settings: func() any { return &Settings{} },
	})
}
