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
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return serveUntil(ctx, srv, func() error { return srv.Serve(l) })
}
