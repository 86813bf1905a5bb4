// Package smtp describes the smtp service. SMTP, and smtp_relay, the open-relay variant that records every message and delivers nothing.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package smtp

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the smtp service's settings.
type Settings struct {
	Banner    string `json:"banner" doc:"Greeting text after '220 ' (default: Postfix on the persona's hostname)"`
	MTA       string `json:"mta" doc:"MTA name in the greeting"`
	OpenRelay bool   `json:"open_relay" doc:"Accept relaying"`
}

// RelaySettings are the smtp_relay service's settings: SMTP's and the
// upstream that probe messages go to.
type RelaySettings struct {
	Settings
	UpstreamHost   string `json:"upstream_host" doc:"Relay used to deliver probe messages"`
	UpstreamPort   int    `json:"upstream_port" min:"1" max:"65535" doc:"Port of upstream_host"`
	UpstreamUser   string `json:"upstream_user" doc:"Login on upstream_host"`
	UpstreamPass   string `json:"upstream_pass" kind:"secret" doc:"Password on upstream_host"`
	UpstreamSender string `json:"upstream_sender" doc:"Envelope sender for probe messages"`
	ProbeLimit     int    `json:"probe_limit" min:"0" max:"100" doc:"Probe messages relayed per attacker"`
}

func init() {
	service.Register(service.Info{
		ID: "smtp", Title: "SMTP server", Ports: service.TCPPorts(25, 587),
		Settings: func() any { return &Settings{} },
		Legacy:   []service.Legacy{{Key: "smtp_banner", Setting: "banner"}},
	})
	service.Register(service.Info{
		ID: "smtp_relay", Title: "SMTP open relay", Ports: service.TCPPorts(25, 587),
		Namespace: "smtp",
		Settings:  func() any { return &RelaySettings{UpstreamPort: 587, ProbeLimit: 1} },
		Legacy:    []service.Legacy{{Key: "smtp_banner", Setting: "banner"}},
	})
}
