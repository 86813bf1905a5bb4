// Package pop3 describes the pop3 service. POP3 with a bait mailbox.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package pop3

import (
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/mailbox"
)

func init() {
	service.Register(service.Info{
		ID: "pop3", Title: "POP3 server", Ports: service.TCPPorts(110),
		Settings: func() any { return &mailbox.Settings{} },
	})
}
