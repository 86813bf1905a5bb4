// Package pop3 describes the pop3 service. POP3 with a bait mailbox.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package pop3

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the pop3 service's settings.
type Settings struct {
	Users     []string `json:"users" doc:"Accepted user:password pairs"`
	EmailSeed string   `json:"email_seed" doc:"Host directory of bait messages (.eml or JSON)"`
}

func init() {
	service.Register(service.Info{
		ID: "pop3", Title: "POP3 server", Ports: service.TCPPorts(110),
		Settings: func() any { return &Settings{} },
	})
}
