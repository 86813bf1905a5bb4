// Package imap describes the imap service. IMAP with a bait mailbox.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package imap

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the imap service's settings.
type Settings struct {
	Users     []string `json:"users" doc:"Accepted user:password pairs"`
	EmailSeed string   `json:"email_seed" doc:"Host directory of bait messages (.eml or JSON)"`
}

func init() {
	service.Register(service.Info{
		ID: "imap", Title: "IMAP server", Ports: service.TCPPorts(143),
		Settings: func() any { return &Settings{} },
	})
}
