package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/agent/shipper"
	"github.com/decnet/decnet/internal/pki"
)

// Options are how an agent runs: where its API listens, where the events
// its deckies spool go, and, once enrolled, its master.
type Options struct {
	// Version is reported by /health and on every heartbeat.
	Version string
	// Socket serves the API on a unix socket (mode 0600) for same-host use.
	Socket string
	// Listen serves the API over mutual TLS with TLS (the agent's
	// certificate and the CA); only the master role may call.
	Listen string
	TLS    *tls.Config
	// HostID stamps shipped events; with the bus it is also the subject.
	HostID string
	// SpoolDir holds the deckies' spools; default <dir>/spool.
	SpoolDir string
	// Publisher receives shipped events (the bus); nil writes them to a
	// JSON-lines file, EventsFile (default <dir>/events.jsonl).
	Publisher  shipper.Publisher
	EventsFile string
	// ShipPoll is how often idle spools are scanned; 0 means the
	// shipper's default.
	ShipPoll time.Duration
	// Enrollment, when set, makes the agent heartbeat to its master and
	// upload quarantined blobs there, over MasterTLS.
	Enrollment *Enrollment
	MasterTLS  *tls.Config
	// Heartbeat is the interval; 0 means wire.HeartbeatInterval.
	Heartbeat time.Duration
	// Advertise is where the master reaches this agent's API; default the
	// unix socket (a master on this host).
	Advertise string
	// Self is the running binary and SHA256 its hash, reported on every
	// heartbeat; an update order needs Self. Pending is the update this
	// build is on trial for (UpdateEnv), nil when none.
	Self, SHA256 string
	Pending      *PendingUpdate
}

// Run serves the agent until ctx is done: its API on every listener, the
// shipper, and the heartbeater when enrolled. Every goroutine is Run's:
// the first one that fails stops the others and its error is returned.
// Run starts nothing that touches the engine: only the master's requests
// do.
func (a *Agent) Run(ctx context.Context, o Options) error {
	if o.Socket == "" && o.Listen == "" {
		return errors.New("agent: nothing to listen on: give a unix socket and/or a TLS address")
	}
	if o.SpoolDir == "" {
		o.SpoolDir = filepath.Join(a.dir, "spool")
	}
	var listeners []net.Listener
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	check := RoleChecker(nil)
	if o.Socket != "" {
		l, err := ListenUnix(o.Socket)
		if err != nil {
			return fmt.Errorf("agent: listen on %s: %w", o.Socket, err)
		}
		listeners = append(listeners, l)
	}
	if o.Listen != "" {
		if o.TLS == nil {
			closeAll()
			return errors.New("agent: a TLS address needs the agent's certificate and the CA")
		}
		l, err := tls.Listen("tcp", o.Listen, o.TLS)
		if err != nil {
			closeAll()
			return fmt.Errorf("agent: listen on %s: %w", o.Listen, err)
		}
		listeners = append(listeners, l)
		check = MasterOnly
	}
	pub := o.Publisher
	if pub == nil {
		if o.EventsFile == "" {
			o.EventsFile = filepath.Join(a.dir, "events.jsonl")
		}
		f, err := shipper.OpenFileSink(o.EventsFile, 1000)
		if err != nil {
			closeAll()
			return err
		}
		defer f.Close()
		pub = f
	}
	sh, err := shipper.New(o.SpoolDir, filepath.Join(a.dir, "shipper.cursor"), o.HostID, pub, a.log)
	if err != nil {
		closeAll()
		return err
	}
	if o.ShipPoll > 0 {
		sh.Poll = o.ShipPoll
	}
	g, gctx := errgroup.WithContext(ctx)
	h := a.Handler(o.Version, check)
	for _, l := range listeners {
		g.Go(func() error { return serve(gctx, h, l) })
	}
	if en := o.Enrollment; en != nil {
		sh.Blobs = NewBlobUploader(en, &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{TLSClientConfig: o.MasterTLS}})
		hb := a.NewHeartbeater(en, &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: o.MasterTLS}}, o.Heartbeat)
		hb.Version, hb.API, hb.Self, hb.SHA256 = o.Version, o.Advertise, o.Self, o.SHA256
		if o.Pending != nil {
			g.Go(func() error { return a.watchUpdate(gctx, o.Pending, hb.beat) })
		}
		if hb.API == "" && o.Socket != "" {
			if abs, err := filepath.Abs(o.Socket); err == nil {
				hb.API = "unix://" + abs
			}
		}
		g.Go(func() error { return hb.Run(gctx) })
		a.log.Info("enrolled", "master", en.Master, "host_id", en.HostID)
	}
	g.Go(func() error { return sh.Run(gctx) })
	g.Go(func() error {
		select {
		case <-a.wiped:
			return ErrWiped
		case <-gctx.Done():
			return nil
		}
	})
	a.log.Info("agent running", "dir", a.dir, "socket", o.Socket, "listen", o.Listen)
	err = g.Wait()
	if errors.Is(err, ErrWiped) {
		// Every goroutine has stopped: close the cache and erase.
		if cerr := a.Close(); cerr != nil {
			return errors.Join(err, cerr)
		}
		return errors.Join(err, a.erase())
	}
	return err
}

// MasterOnly admits requests whose TLS client certificate has the master
// role; requests over the unix socket carry no TLS state and pass.
func MasterOnly(r *http.Request) error {
	if r.TLS == nil {
		return nil
	}
	if len(r.TLS.PeerCertificates) == 0 {
		return errors.New("no client certificate")
	}
	role, err := pki.RoleOf(r.TLS.PeerCertificates[0])
	if err != nil {
		return err
	}
	if role.Kind != pki.KindMaster {
		return fmt.Errorf("role %s may not call the agent; only the master may", role)
	}
	return nil
}
