// Package serve is the machinery every protocol implementation shares: the
// Env a service is built from, and the TCP accept loop with per-source and
// total connection limits, idle and life deadlines, one event session per
// connection and panic recovery, so a protocol package writes only its
// protocol.
package serve

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/spool"
)

// Env is what the decky runtime hands a service: who the decky is, where
// to listen and the service's decoded settings.
type Env struct {
	Topology string
	Decky    string
	Persona  Persona
	Identity persona.Identity
	// Addrs are the decky's addresses; a service listens on each.
	Addrs []netip.Addr
	// Settings are the service's typed settings, as its description's
	// Settings returns them, decoded from the spec (service.Info.Decode).
	Settings any
	Log      *slog.Logger
	// Events stamps and writes this service's events.
	Events *event.Emitter
	// Quarantine stores uploaded and fetched files.
	Quarantine *spool.Quarantine
	// Limits bound connections; zero means DefaultLimits.
	Limits Limits
	// Refuse answers a connection over the limits as the product answers
	// when it is overloaded (Redis's "max number of clients reached",
	// nginx's 503, vsftpd's 421); nil closes it without a byte, as sshd
	// drops past MaxStartups. It runs with a short deadline and must not
	// block past it.
	Refuse func(c net.Conn)
	// Ports moves a service off its standard ports: a test that cannot
	// bind port 22 serves on the port mapped here instead.
	Ports map[uint16]uint16
	// Bait are the bait files with honey credentials this service shows
	// (package bait plans them; the master records their credentials).
	Bait []bait.File
	// Live holds the decky's live controls (tarpits, dropped files); nil
	// means none. The runtime changes it while the service runs.
	Live *Live
}

// Logger is the service's logger, or one that discards when the Env has
// none (a test building a service by hand).
func (e *Env) Logger() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// Port returns the port a service bound to standard port p listens on.
func (e *Env) Port(p uint16) uint16 {
	if to, ok := e.Ports[p]; ok {
		return to
	}
	return p
}

// Persona is the decky's persona as services read it.
type Persona struct {
	Family    persona.Family
	Distro    persona.Distro
	Hostname  string
	Archetype string
}

// Server is a running protocol implementation.
type Server interface {
	// Serve listens on the Env's addresses and serves until ctx is done,
	// then stops gracefully and returns.
	Serve(ctx context.Context) error
}

// Factory builds a service for one decky. A protocol package puts its
// Factory in service.Info.New; the decky runtime calls it after decoding
// the settings, and calls nothing of the service before.
type Factory func(env Env) (Server, error)

// SettingsOf returns the Env's settings as the service's settings type,
// or fresh defaults when the Env carries none (a test building a service
// by hand).
func SettingsOf[T any](env Env, defaults func() *T) *T {
	if s, ok := env.Settings.(*T); ok && s != nil {
		return s
	}
	return defaults()
}

// Windows is the decky's Windows (or Samba) identity: the names, version
// and GUID its SMB, RDP, LDAP and MSSQL services all tell.
func (e *Env) Windows() persona.WindowsIdentity {
	return e.Identity.Windows(e.Persona.Distro, e.Persona.Hostname, time.Now())
}
