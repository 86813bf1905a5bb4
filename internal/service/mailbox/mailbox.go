// Package mailbox is what the mail access services (IMAP, POP3) share: the
// accounts they accept, the mail server product they present, and the
// bait mail they serve.
package mailbox

import (
	"fmt"
	"strings"

	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/authpolicy"
)

// Settings are the settings of a mail access service.
type Settings struct {
	Users       []string `json:"users" doc:"Accepted user:password pairs (default: root:admin)"`
	AcceptAfter int      `json:"accept_after" min:"0" max:"100" doc:"Accept any password after this many failed attempts from a source (0: never)"`
	Product     string   `json:"product" doc:"Mail server the decky is: dovecot or courier (default: dovecot)"`
	EmailSeed   string   `json:"email_seed" doc:"Directory of extra bait messages (.eml files, or JSON lists of {from_addr, from_name, to_addr, subject, body, date}) read at start"`
}

// Defaults are a mail access service's defaults.
func Defaults() *Settings { return &Settings{} }

// Validate implements service.Validator.
func (s *Settings) Validate() error {
	switch strings.ToLower(s.Product) {
	case "", "dovecot", "courier":
	default:
		return fmt.Errorf("product %q is not dovecot or courier", s.Product)
	}
	for _, u := range s.Users {
		if name, _, ok := strings.Cut(u, ":"); !ok || name == "" {
			return fmt.Errorf("users: %q is not user:password", u)
		}
	}
	return nil
}

var _ service.Validator = (*Settings)(nil)

// Policy is the login policy of the settings.
func (s *Settings) Policy() *authpolicy.Policy {
	return authpolicy.New(authpolicy.Logins{Users: s.Users, AcceptAfter: s.AcceptAfter})
}

// Courier reports whether the decky presents Courier rather than Dovecot.
func (s *Settings) Courier() bool { return strings.EqualFold(s.Product, "courier") }
