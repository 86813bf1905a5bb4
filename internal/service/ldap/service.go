// Package ldap describes the ldap service. LDAP: an Active Directory or OpenLDAP rootDSE, bind capture and a bait directory.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package ldap

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the ldap service's settings.
type Settings struct {
	BaseDN string `json:"base_dn" doc:"Directory base DN (default from the persona's domain)"`
}

func init() {
	service.Register(service.Info{
		ID: "ldap", Title: "LDAP directory", Ports: service.TCPPorts(389),
		Settings: func() any { return &Settings{} },
	})
}
