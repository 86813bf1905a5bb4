package master

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master/api"
)

// busLive feeds the API's live stream from the bus, never from the DB.
type busLive struct{ m *Master }

func (b busLive) Subscribe(ctx context.Context, fn func(event.Event)) error {
	return bus.Subscribe(ctx, b.m.NATS, fn)
}

// NewAPI returns the operator API over the master's store and bus.
func (m *Master) NewAPI() (*api.Server, error) {
	return api.New(api.Options{Store: m.Store, Logger: m.log, Live: busLive{m}, SecureCookies: true})
}

// ServeAPI serves the operator API over HTTPS (the master's certificate)
// on l until ctx is done.
func (m *Master) ServeAPI(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{m.Cert}}}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.ServeTLS(l, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeMetrics serves Prometheus metrics on the management listener l
// (never the API's or a decoy network's).
func (m *Master) ServeMetrics(ctx context.Context, l net.Listener, h http.Handler) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
