// Package imap describes the imap service. IMAP with a bait mailbox.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package imap

import (
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/mailbox"
)

func init() {
	service.Register(service.Info{
		ID: "imap", Title: "IMAP server", Ports: service.TCPPorts(143),
		Settings: func() any { return &mailbox.Settings{} },
	})
}
