// Package dns describes the dns service. DNS: an authoritative zone for the persona's domain, CHAOS answers, AXFR captured, never an amplifier.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package dns

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the dns service's settings.
type Settings struct {
	ZoneMode      string   `json:"zone_mode" enum:"auth,recursive,open" doc:"auth answers its zone only; recursive and open sinkhole other names"`
	Domain        string   `json:"domain" doc:"Zone served (default: seeded)"`
	BindVersion   string   `json:"bind_version" doc:"version.bind answer"`
	NSID          string   `json:"nsid" doc:"NSID answer"`
	ExtraRecords  []string `json:"extra_records" doc:"Extra records as 'name TYPE value'"`
	RealRecursive bool     `json:"real_recursive" doc:"Forward out-of-zone queries upstream"`
	Upstream      string   `json:"upstream" doc:"Upstream resolver for real_recursive"`
	ForwardBudget int      `json:"forward_budget" min:"0" max:"10000" doc:"Forwarded queries per window"`
}

func init() {
	service.Register(service.Info{
		ID: "dns", Title: "DNS server", Ports: []service.Port{{Number: 53, Proto: service.UDP}, {Number: 53, Proto: service.TCP}},
		Settings: func() any {
			return &Settings{ZoneMode: "auth", BindVersion: "9.18.28-0ubuntu0.22.04.1-Ubuntu", ForwardBudget: 50}
		},
	})
}
