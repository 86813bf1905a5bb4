package ics

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/service/serve"
)

// Server is the industrial controller of one decky.
type Server struct {
	env    serve.Env
	log    *slog.Logger
	device device
	plant  *plant
	now    func() time.Time
}

var _ serve.Server = (*Server)(nil)

// New builds the ics service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	d, err := newDevice(cfg.Template, cfg.Vendor, cfg.Product, cfg.Station, env.Identity)
	if err != nil {
		return nil, err
	}
	s := &Server{env: env, log: env.Logger(), device: d, now: time.Now}
	s.plant = newPlant(env.Identity, func() time.Time { return s.now() })
	return s, nil
}

// Serve implements serve.Server: Modbus on 502 under the modbus
// namespace, S7 on 102 under s7.
func (s *Server) Serve(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve.TCP(gctx, s.env, ModbusPort, s.serveModbus) })
	s7env := s.env
	s7env.Events = s.env.Events.WithNamespace("s7")
	g.Go(func() error { return serve.TCP(gctx, s7env, S7Port, s.serveS7) })
	return g.Wait()
}
