package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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

// How long the master's API reuses the answers of its event, attacker and
// credential lists, and the dashboard the overview's figures: many
// operators or a polling script cost one query per period, and a flood
// of events cannot make the dashboard slow. The live feed is not cached.
const (
	ReadCacheTTL = time.Second
	OverviewTTL  = 5 * time.Second
)

// NewAPI returns the operator API over the master's store and bus.
func (m *Master) NewAPI() (*api.Server, error) {
	return api.New(api.Options{Store: m.Store, Logger: m.log, Live: busLive{m}, SecureCookies: true, ReadCacheTTL: ReadCacheTTL})
}

// ServeAPI serves the operator API over HTTPS (the master's certificate)
// on l until ctx is done.
func (m *Master) ServeAPI(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{m.Cert}}}
	return serveUntil(ctx, srv, func() error { return srv.ServeTLS(l, "", "") })
}

// serveUntil runs serve until ctx is done, then closes srv and waits for
// serve to return.
func serveUntil(ctx context.Context, srv *http.Server, serve func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		srv.Close()
		<-errc
		return nil
	}
}

// ServeMetrics serves Prometheus metrics on the management listener l
// (never the API's or a decoy network's).
func (m *Master) ServeMetrics(ctx context.Context, l net.Listener, h http.Handler) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { probeReply(w, nil) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { probeReply(w, m.Ready(r.Context())) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return serveUntil(ctx, srv, func() error { return srv.Serve(l) })
}

// Ready reports whether the master can do its work: the database answers
// and the event bus takes messages. A nil error is ready.
func (m *Master) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var errs []error
	if p, ok := m.Store.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(ctx); err != nil {
			errs = append(errs, fmt.Errorf("database: %w", err))
		}
	}
	switch {
	case m.NATS == nil || !m.NATS.IsConnected():
		errs = append(errs, errors.New("event bus: not connected"))
	default:
		if _, err := m.JS.AccountInfo(ctx); err != nil {
			errs = append(errs, fmt.Errorf("event bus: JetStream: %w", err))
		}
	}
	return errors.Join(errs...)
}

// probeReply answers a health probe: 200 "ok", or 503 with the reasons.
func probeReply(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, "ok")
}
