package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// Heartbeater reports the agent's truth to its master every interval.
// What the engine runs is included only when the master's previous reply
// asked for it, so the agent never calls its engine on its own.
type Heartbeater struct {
	a   *Agent
	url string
	// API is where the master reaches this agent (sent with every beat).
	API string
	// Version is this agent's build (sent with every beat).
	Version string
	// Self and SHA256 are the running binary and its hash: the build the
	// master compares with its own for updates.
	Self, SHA256 string
	en           *Enrollment
	client       *http.Client
	interval     time.Duration

	mu      sync.Mutex
	observe bool
	// beat is closed after the first heartbeat the master took.
	beat     chan struct{}
	beatOnce sync.Once
}

// NewHeartbeater returns a heartbeater for an enrolled agent; it starts
// nothing. interval <= 0 means wire.HeartbeatInterval.
func (a *Agent) NewHeartbeater(en *Enrollment, client *http.Client, interval time.Duration) *Heartbeater {
	if interval <= 0 {
		interval = wire.HeartbeatInterval
	}
	return &Heartbeater{a: a, url: "https://" + en.Master + wire.PathHeartbeat, en: en, client: client, interval: interval,
		beat: make(chan struct{})}
}

// Run heartbeats until ctx is done. A failed heartbeat is logged and the
// next one goes out on time: the finished operations ride on every
// heartbeat, so a lost one loses no completion.
func (h *Heartbeater) Run(ctx context.Context) error {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		err := h.Beat(ctx)
		var restart *RestartError
		if errors.As(err, &restart) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			h.a.log.Warn("heartbeat", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Beat sends one heartbeat and records the master's reply.
func (h *Heartbeater) Beat(ctx context.Context) error {
	h.mu.Lock()
	observe := h.observe
	h.mu.Unlock()
	if FaultNoHeartbeat != "" {
		return errNoHeartbeat
	}
	body := wire.Heartbeat{API: h.API, Version: h.Version, Capabilities: h.a.capabilities(), BinarySHA256: h.SHA256,
		UpdateFailed: h.a.pendingFailure()}
	if observe {
		// The master asked: this engine call is its request.
		obs := h.a.observe(ctx)
		body.Observed = &obs
	}
	// The cache and the finished operations are read after observing, so
	// a beat never reports a state older than an apply that finished
	// while it was being prepared.
	body.Operations = h.a.ops.snapshot()
	cur, err := h.a.store.Current()
	if err != nil {
		return err
	}
	if cur != nil {
		body.AppliedID, body.AppliedHash, body.LastError = cur.TopologyID, cur.VersionHash, cur.LastError
	}
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("master answered %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	var reply wire.HeartbeatReply
	if err := json.Unmarshal(raw, &reply); err != nil {
		return fmt.Errorf("heartbeat reply: %w", err)
	}
	h.mu.Lock()
	h.observe = reply.Observe
	h.mu.Unlock()
	h.beatOnce.Do(func() { close(h.beat) })
	if body.UpdateFailed != nil {
		_ = os.Remove(h.a.rollbackFile()) // the master has the report
	}
	if o := reply.Update; o != nil && o.SHA256 != h.SHA256 && h.Self != "" {
		err := h.a.stage(ctx, h.en, h.client, h.Self, o)
		var restart *RestartError
		if err != nil && !errors.As(err, &restart) && ctx.Err() == nil {
			// Reported on the next beat, which ends the master's request.
			h.a.log.Error("update refused", "version", o.Version, "err", err)
			b, _ := json.Marshal(wire.UpdateFailure{SHA256: o.SHA256, Version: o.Version, Error: err.Error()})
			if os.MkdirAll(h.a.binDir(), 0o700) == nil {
				_ = os.WriteFile(h.a.rollbackFile(), b, 0o600)
			}
		}
		return err
	}
	return nil
}

// capabilities reports what this host's driver can build; a local-only
// driver's networks are loopback and those of the host's interfaces.
func (a *Agent) capabilities() *topology.HostCapabilities {
	c := a.driver.Capabilities()
	hc := &topology.HostCapabilities{Driver: a.driver.Name(), LANDrivers: c.LANDrivers}
	if c.LocalOnly {
		hc.LocalSubnets = []string{"127.0.0.0/8"}
		addrs, _ := net.InterfaceAddrs()
		for _, ad := range addrs {
			if ipn, ok := ad.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
				hc.LocalSubnets = append(hc.LocalSubnets, (&net.IPNet{IP: ipn.IP.Mask(ipn.Mask), Mask: ipn.Mask}).String())
			}
		}
	}
	return hc
}
