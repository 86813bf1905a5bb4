package master

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/canary"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

// CanaryConfig is where the master listens for canary tokens. The HTTP
// listener is an nginx look-alike on its own address: expose it where
// victims' machines reach it, never the API.
type CanaryConfig struct {
	// Listen serves token URLs ("" serves none, and no token with a URL
	// can be made).
	Listen string
	// URL is the base URL of token URLs as victims reach the listener
	// (default http://<Listen>).
	URL string
	// DNSListen serves the token zone over UDP ("" serves none); Zone is
	// that zone and DNSAddr the address its token names resolve to
	// (default: the DNS listener's, or 127.0.0.1 when it listens on all).
	DNSListen string
	Zone      string
	DNSAddr   string
}

// canaryState is the master's canary part, made by Start.
type canaryState struct {
	cfg      canary.Config
	listener *canary.Listener
	httpL    net.Listener
	dnsPC    net.PacketConn
}

// startCanary binds the token listeners.
func (m *Master) startCanary() error {
	c := m.Config.Canary
	m.canary = &canaryState{}
	m.canary.listener = &canary.Listener{Live: m.canaryLive, Fire: m.canaryFire, Log: m.log}
	if c.Listen != "" {
		l, err := net.Listen("tcp", c.Listen)
		if err != nil {
			return fmt.Errorf("listen for canary tokens on %s: %w", c.Listen, err)
		}
		m.canary.httpL = l
		m.canary.cfg.BaseURL = c.URL
		if c.URL == "" {
			m.canary.cfg.BaseURL = "http://" + l.Addr().String()
		}
	}
	if c.DNSListen != "" {
		if c.Zone == "" {
			return errors.New("--canary-dns-listen needs --canary-zone")
		}
		pc, err := net.ListenPacket("udp", c.DNSListen)
		if err != nil {
			return fmt.Errorf("listen for canary DNS on %s: %w", c.DNSListen, err)
		}
		m.canary.dnsPC = pc
		m.canary.cfg.Zone = c.Zone
		addr := c.DNSAddr
		if addr == "" {
			ap, _ := netip.ParseAddrPort(pc.LocalAddr().String())
			addr = ap.Addr().Unmap().String()
			if ap.Addr().IsUnspecified() {
				addr = "127.0.0.1"
			}
		}
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is4() {
			return fmt.Errorf("--canary-dns-address %q: want an IPv4 address", addr)
		}
		m.canary.listener.Zone, m.canary.listener.Addr = c.Zone, a
	}
	if m.canary.cfg.BaseURL != "" {
		if err := (canary.Config{BaseURL: m.canary.cfg.BaseURL, Zone: m.canary.cfg.Zone}).Validate(); err != nil {
			return err
		}
	}
	return nil
}

// canaryConfig is where tokens call home (nothing before Start).
func (m *Master) canaryConfig() canary.Config {
	if m.canary == nil {
		return canary.Config{}
	}
	return m.canary.cfg
}

// CanaryURL is the base URL of token URLs ("" when no listener runs).
func (m *Master) CanaryURL() string { return m.canaryConfig().BaseURL }

// CanaryDNSAddr is the address the canary DNS listener bound ("" when none).
func (m *Master) CanaryDNSAddr() string {
	if m.canary == nil || m.canary.dnsPC == nil {
		return ""
	}
	return m.canary.dnsPC.LocalAddr().String()
}

func (m *Master) canaryLive(ctx context.Context, slug string) bool {
	_, err := m.Store.CanaryTokenBySlug(ctx, slug)
	return err == nil
}

// canaryFire records a hit and publishes it as the master's own event;
// the token's alert rule turns it into an alert.
func (m *Master) canaryFire(ctx context.Context, h canary.Hit) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t, err := m.Store.CanaryTokenBySlug(ctx, h.Slug)
	if err != nil {
		return
	}
	now := time.Now().UTC()
	f := map[string]any{"token_id": t.ID, "kind": t.Kind, "memo": t.Memo, "channel": h.Channel}
	for k, v := range map[string]string{"method": h.Method, "path": h.Path, "host": h.Host, "user_agent": h.UserAgent, "qname": h.QName, "qtype": h.QType} {
		if v != "" {
			f[k] = event.Text([]byte(v), canary.MaxHeaderValue)
		}
	}
	if len(h.Headers) > 0 {
		hs := make([]any, len(h.Headers))
		for i, v := range h.Headers {
			hs[i] = event.Text([]byte(v), canary.MaxHeaderValue)
		}
		f["headers"] = hs
	}
	ev := event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Time: now, Type: canary.TriggeredType, Severity: event.High,
		Service: "canary", Src: &event.Endpoint{IP: h.Src.Addr().String(), Port: int(h.Src.Port())}, Fields: f}
	if err := m.Store.RecordCanaryTrigger(ctx, t.ID, now); err != nil {
		m.log.Warn("canary trigger count", "token_id", t.ID, "err", err)
	}
	if m.JS == nil {
		return
	}
	if err := bus.PublishTo(ctx, m.JS, bus.SubjectPrefix+bus.MasterHost, bus.MasterHost, []event.Event{ev}); err != nil {
		m.log.Error("canary trigger not published", "token_id", t.ID, "err", err)
		return
	}
	m.log.Info("canary token fired", "token_id", t.ID, "channel", h.Channel, "src", h.Src.Addr().String())
}

// ---- API

// CanaryToken is a token as the API shows it: where it calls home.
type CanaryToken struct {
	store.CanaryToken
	// URL is what to fetch (http) or what the document calls; Hostname
	// what to resolve (dns, and documents that name a host).
	URL      string `json:"url,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	// Document is the file name of the token's document, downloaded from
	// /canary-tokens/{id}/document.
	Document string `json:"document,omitempty"`
}

type canaryTokenRequest struct {
	Kind string `json:"kind"`
	// Memo says where the token was left; it comes back with every alert.
	Memo string `json:"memo"`
	// Severity of its alerts (default 3, high).
	Severity *int `json:"severity,omitempty"`
}

func (m *Master) canaryRoutes() []api.Route {
	v, a := store.Viewer, store.Admin
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/canary-tokens", Summary: "List canary tokens, newest first, with their URLs, names and trigger counts", Role: v, Do: m.listCanaryTokens, Response: api.List[CanaryToken]{}},
		{Method: http.MethodPost, Pattern: "/canary-tokens", Summary: "Create a canary token (http, dns, docx, pdf, env, git_config, aws_credentials) with a memo; its alert rule is made with it", Role: a, Mutating: true, Do: m.createCanaryToken, Request: canaryTokenRequest{}, Response: CanaryToken{}},
		{Method: http.MethodGet, Pattern: "/canary-tokens/{id}", Summary: "One canary token", Role: v, Do: m.getCanaryToken, Response: CanaryToken{}},
		{Method: http.MethodDelete, Pattern: "/canary-tokens/{id}", Summary: "Delete a canary token and its alert rule; its alerts and trigger events stay", Role: a, Mutating: true, Do: m.deleteCanaryToken},
		{Method: http.MethodGet, Pattern: "/canary-tokens/{id}/document", Summary: "Download the document of a document token (a fresh copy: same call-home, new filler)", Role: v, Handler: m.canaryDocument, Produces: "application/octet-stream"},
		{Method: http.MethodGet, Pattern: "/honey-credentials", Summary: "The credentials planted in the deckies' bait (?decky): where each lies and whose it claims to be, not the secret", Role: v, Do: m.listHoneyCredentials, Response: api.List[HoneyCredential]{}},
		{Method: http.MethodGet, Pattern: "/canary-tokens/{id}/triggers", Summary: "The token's trigger events, newest first (at most 100)", Role: v, Do: m.canaryTriggers, Response: api.List[event.Event]{}},
	}
}

func (m *Master) canaryView(t *store.CanaryToken) CanaryToken {
	v := CanaryToken{CanaryToken: *t}
	if m.canary == nil {
		return v
	}
	if t.Kind != canary.DNS && m.canary.cfg.BaseURL != "" {
		v.URL = m.canary.cfg.URL(t.Kind, t.Slug)
	}
	if t.Kind == canary.DNS || t.Kind == canary.Env || t.Kind == canary.AWSCredentials {
		v.Hostname = m.canary.cfg.Hostname(t.Slug)
	}
	if canary.HasDocument(t.Kind) {
		if d, err := canary.MakeDocument(t.Kind, v.URL, v.Hostname, t.CreatedAt); err == nil {
			v.Document = d.Name
		}
	}
	return v
}

func (m *Master) listCanaryTokens(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	out, err := m.CanaryTokens(r.Context())
	if err != nil {
		return nil, err
	}
	return api.List[CanaryToken]{Items: out}, nil
}

func (m *Master) canaryToken(ctx context.Context, id string) (*store.CanaryToken, error) {
	t, err := m.Store.CanaryToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no canary token %q", id)
	}
	return t, err
}

func (m *Master) getCanaryToken(r *http.Request, _ *api.Principal) (any, error) {
	t, err := m.canaryToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return m.canaryView(t), nil
}

func (m *Master) createCanaryToken(r *http.Request, who *api.Principal) (any, error) {
	var req canaryTokenRequest
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	req.Memo = strings.TrimSpace(req.Memo)
	sev := event.High
	if req.Severity != nil {
		sev = *req.Severity
	}
	switch {
	case !canary.KnownKind(req.Kind):
		return nil, invalid("kind must be one of %s", strings.Join(canary.Kinds, ", "))
	case req.Memo == "" || len(req.Memo) > 500:
		return nil, invalid("memo: 1 to 500 characters saying where the token will be left")
	case sev < event.Info || sev > event.Critical:
		return nil, invalid("severity: 0 (info) to 4 (critical)")
	case canary.NeedsDNS(req.Kind) && m.canaryConfig().Zone == "":
		return nil, invalid("dns tokens need the canary DNS listener (--canary-dns-listen and --canary-zone)")
	case !canary.NeedsDNS(req.Kind) && m.canaryConfig().BaseURL == "":
		return nil, invalid("%s tokens need the canary HTTP listener (--canary-listen)", req.Kind)
	}
	t := &store.CanaryToken{ID: event.NewID(), Kind: req.Kind, Memo: req.Memo, Slug: canary.NewSlug(), CreatedBy: who.Name}
	memo := req.Memo
	if len(memo) > 60 {
		memo = memo[:60]
	}
	rule := &alert.Rule{ID: event.NewID(), Name: "canary " + t.ID[len(t.ID)-8:] + ": " + memo, Enabled: true, Severity: sev,
		Description: "The alert route of canary token " + t.ID + " (" + t.Kind + ").",
		Match:       alert.Match{Types: []string{canary.TriggeredType}, Tokens: []string{t.ID}}, Condition: alert.Condition{Kind: alert.Each}}
	if err := rule.Validate(m.Alerts.HoneyKnown()); err != nil {
		return nil, invalid("%v", err)
	}
	t.RuleID = rule.ID
	api.SetAudit(r, "canary-token/"+t.ID, "kind="+t.Kind+" memo="+strconv.Quote(t.Memo))
	if err := m.storeRule(r.Context(), rule, true); err != nil {
		return nil, err
	}
	if err := m.Store.CreateCanaryToken(r.Context(), t); err != nil {
		_ = m.Store.DeleteAlertRule(r.Context(), rule.ID)
		return nil, err
	}
	m.log.Info("canary token created", "token_id", t.ID, "kind", t.Kind, "by", who.Name)
	return api.Reply{Status: http.StatusCreated, Body: m.canaryView(t)}, nil
}

func (m *Master) deleteCanaryToken(r *http.Request, _ *api.Principal) (any, error) {
	t, err := m.canaryToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "canary-token/"+t.ID, "")
	if err := m.Store.DeleteCanaryToken(r.Context(), t.ID); err != nil {
		return nil, err
	}
	if err := m.Store.DeleteAlertRule(r.Context(), t.RuleID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	m.Alerts.Reload()
	return api.Reply{Status: http.StatusNoContent}, nil
}

func (m *Master) canaryDocument(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	t, err := m.canaryToken(r.Context(), r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if !canary.HasDocument(t.Kind) {
		api.WriteError(w, invalid("a %s token has no document", t.Kind))
		return
	}
	v := m.canaryView(t)
	d, err := canary.MakeDocument(t.Kind, v.URL, v.Hostname, time.Now())
	if err != nil {
		api.WriteError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Disposition", `attachment; filename="`+d.Name+`"`)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(d.Data)))
	_, _ = w.Write(d.Data)
}

func (m *Master) canaryTriggers(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	t, err := m.canaryToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	evs, err := m.Store.ListEvents(r.Context(), store.EventFilter{Types: []string{canary.TriggeredType}, Text: t.ID, Limit: 100})
	if err != nil {
		return nil, err
	}
	return api.List[event.Event]{Items: evs}, nil
}

// CanaryTokens lists the tokens as the API shows them (the dashboard's
// token pages).
func (m *Master) CanaryTokens(ctx context.Context) ([]CanaryToken, error) {
	ts, err := m.Store.ListCanaryTokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CanaryToken, len(ts))
	for i := range ts {
		out[i] = m.canaryView(&ts[i])
	}
	return out, nil
}

// HoneyCredential is a planted credential as the API shows it: where it
// lies and whose it claims to be; the secret stays in the store.
type HoneyCredential struct {
	TopologyID string    `json:"topology_id"`
	Decky      string    `json:"decky"`
	Place      string    `json:"place"`
	Path       string    `json:"path"`
	Principal  string    `json:"principal"`
	Target     string    `json:"target,omitempty"`
	PlacedAt   time.Time `json:"placed_at"`
}

func (m *Master) listHoneyCredentials(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r, "decky"); err != nil {
		return nil, err
	}
	cs, err := m.Store.ListHoneyCredentials(r.Context())
	if err != nil {
		return nil, err
	}
	decky := r.URL.Query().Get("decky")
	out := []HoneyCredential{}
	for _, c := range cs {
		if decky == "" || c.Decky == decky {
			out = append(out, HoneyCredential{TopologyID: c.TopologyID, Decky: c.Decky, Place: c.Service, Path: c.Path, Principal: c.Principal, Target: c.Target, PlacedAt: c.PlacedAt})
		}
	}
	return api.List[HoneyCredential]{Items: out}, nil
}
