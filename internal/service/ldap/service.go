// Package ldap imitates a directory server on 389: Active Directory on a
// Windows persona (the rootDSE of a domain controller, its error texts and
// its four-byte BER lengths, NTLM binds through SASL GSS-SPNEGO and
// Sicily) and OpenLDAP 2.5 on a Linux persona, as Debian 12's slapd with
// its packaged access rules answers. Simple binds are captured in clear,
// NTLM binds as hashcat lines; a seeded bait directory of users, groups
// and computers answers the searches the persona allows.
package ldap

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is LDAP's port.
const Port = 389

// Settings are the ldap service's settings.
type Settings struct {
	BaseDN string   `json:"base_dn" doc:"Directory base DN (default from the persona's domain)"`
	Users  []string `json:"users" doc:"name:password pairs a simple bind accepts (a DN, sAMAccountName or UPN); default none"`
}

func defaults() *Settings { return &Settings{} }

func init() {
	service.Register(service.Info{
		ID: "ldap", Title: "LDAP directory", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: append(event.LoginTypes("ldap",
			event.F("method", "string", "simple, sasl (with the mechanism), or sicily (NTLM)"),
			event.F("dn", "string", "the bind name"),
			event.F("result_code", "int", "the LDAP result answered"),
		),
			event.Type{Name: "ldap.search.request", Severity: event.Medium, Summary: "A search: directory reconnaissance (BloodHound, ldapdomaindump, windapsearch) reads users, groups and computers this way.", Fields: []event.FieldDoc{
				event.F("base", "string", "the base DN"),
				event.F("scope", "string", "base, one or sub"),
				event.F("filter", "string", "the filter, RFC 4515 form"),
				event.F("attributes", "list", "the attributes asked for"),
				event.F("entries", "int", "entries returned"),
				event.F("result_code", "int", "the LDAP result"),
				event.F("bound", "bool", "whether the connection had bound as someone"),
			}},
			event.Type{Name: "ldap.write.attempt", Severity: event.High, Summary: "An add, delete, modify or rename: refused as the server refuses it.", Fields: []event.FieldDoc{
				event.F("operation", "string", "add, delete, modify, moddn or compare"),
				event.F("dn", "string", "the object"),
				event.F("result_code", "int", "the LDAP result"),
			}},
			event.Type{Name: "ldap.extended.request", Severity: event.Low, Summary: "An extended operation (StartTLS, WhoAmI, password modify).", Fields: []event.FieldDoc{
				event.F("oid", "string", "the request name"),
				event.F("result_code", "int", "the LDAP result"),
			}},
		),
	})
}
