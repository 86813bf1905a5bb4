package service

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
)

// Env is what the decky runtime hands a service: who the decky is, where
// to listen and the service's validated settings.
type Env struct {
	Topology string
	Decky    string
	Persona  Persona
	Identity persona.Identity
	// Addrs are the decky's addresses; a service listens on each.
	Addrs  []netip.Addr
	Config map[string]any
	Log    *slog.Logger
	// Events stamps and writes this service's events.
	Events *event.Emitter
	// Quarantine stores uploaded and fetched files.
	Quarantine *event.Quarantine
	// Limits bound connections; zero means DefaultLimits.
	Limits Limits
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

// Factory builds a service for one decky; it is what protocol packages
// pass to Implement.
type Factory func(env Env) (Server, error)
