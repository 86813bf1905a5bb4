package mailbox

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// spawn waits before a new connection is answered: Dovecot's login
	// process start; none for Courier.
	spawn bool
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
		TLS: tlsserver.OpenSSL(cert), spawn: !cfg.Courier()}, nil
}

// loginSpawn is how long Dovecot takes from accepting a connection to its
// first byte: with Debian's default service_count = 1 every connection
// gets a new imap-login or pop3-login process. Debian 12's Dovecot 2.3.19
// answered on loopback after 6.5-17 ms (100 connections each to 143 and
// 110 on a 2-core machine: median 8.5-9.2 ms, standard deviation 1.4-1.7);
// a greeting within the same tenth of a millisecond every time is what
// potsnitch's uniform_timing flags. A floor and a gamma(2) tail of 1 ms
// steps give that shape, capped at 40 ms.
func loginSpawn(uniform func() float64) time.Duration {
	return serve.ProcessStart(6500*time.Microsecond, time.Millisecond, 2, 40*time.Millisecond, uniform)
}

// SpawnDelay draws one login process start; a fuzz test may shorten it.
var SpawnDelay = func() time.Duration { return loginSpawn(rand.Float64) }

// Spawn waits as the product's login process start does before a new
// connection's greeting (or TLS handshake); false if ctx ended first.
func (a *Access) Spawn(ctx context.Context) bool {
	if !a.spawn {
		return ctx.Err() == nil
	}
	return serve.Sleep(ctx, SpawnDelay())
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
