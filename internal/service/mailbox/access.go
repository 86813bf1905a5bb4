package mailbox

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/authpolicy"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Access is what a mail access service (IMAP, POP3) of one decky is built
// from: its settings, login policy, bait mailboxes and TLS certificate.
type Access struct {
	Log      *slog.Logger
	Settings *Settings
	Policy   *authpolicy.Policy
	Box      *Box
	TLS      *tls.Config
}

// NewAccess reads a mail access service's Env. A bait seed that cannot be
// read is logged and left out: the generated bait still serves.
func NewAccess(env serve.Env, service string) (*Access, error) {
	log := env.Logger()
	cfg := serve.SettingsOf(env, Defaults)
	host := strings.ToLower(env.Persona.Hostname)
	if host == "" {
		host = "localhost"
	}
	box, err := NewBox(env.Identity, host, time.Now(), cfg.EmailSeed)
	if err != nil {
		log.Warn("bait mail seed", "err", err)
	}
	box.AddBait(env.Bait)
	cert, err := tlsserver.Certificate(env.Identity, host, time.Now())
	if err != nil {
		return nil, fmt.Errorf("service/%s: %w", service, err)
	}
	return &Access{Log: log, Settings: cfg, Policy: cfg.Policy(), Box: box,
		TLS: tlsserver.OpenSSL(cert)}, nil
}

// FailureDelay is Dovecot's auth_failure_delay: a failed login is answered
// this late. A fuzz test shortens it.
var FailureDelay = 2 * time.Second

// Login applies the policy to one password attempt on a session, reports
// it as <ns>.login.success or <ns>.login.failed with the credential in
// plain text, and on failure waits FailureDelay before the caller answers.
func (a *Access) Login(s *event.Session, ns, mech string, port uint16, user, pass string) bool {
	ok := a.Policy.Accept(s.Source().IP, user, []byte(pass))
	typ, outcome := ns+".login.failed", "failure"
	if ok {
		typ, outcome = ns+".login.success", "success"
	}
	s.Emit(event.Event{Type: typ, Outcome: outcome,
		Credential: event.NewCredential("plaintext", strings.ToUpper(ns)+" "+mech, user, []byte(pass), true),
		Fields:     map[string]any{"mechanism": mech, "port": int(port)}})
	if !ok {
		time.Sleep(FailureDelay)
	}
	return ok
}
