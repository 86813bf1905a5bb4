package master

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/intel/misp"
	"github.com/decnet/decnet/internal/intel/report"
	"github.com/decnet/decnet/internal/intel/stix"
	"github.com/decnet/decnet/internal/intel/taxii"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/output"
	"github.com/decnet/decnet/internal/store"
)

// exportRoutes serve threat-intelligence exports: a STIX 2.1 bundle or a
// MISP event of an attacker, an identity, a campaign or a time range, and
// a push of the MISP event to a MISP instance.
func (m *Master) exportRoutes() []api.Route {
	v, a := store.Viewer, store.Admin
	scope := " (?attacker=IP, ?identity=I-..., ?campaign=C-..., or ?since= and ?until=, RFC 3339)"
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/exports/stix", Summary: "A STIX 2.1 bundle" + scope, Role: v, Do: m.export(func(r *report.Report) any { return stix.Build(r) }), Response: stix.Bundle{}},
		{Method: http.MethodGet, Pattern: "/exports/misp", Summary: "A MISP event (the JSON of MISP's /events/add)" + scope, Role: v, Do: m.export(func(r *report.Report) any { return misp.Build(r) }), Response: misp.Document{}},
		{Method: http.MethodPost, Pattern: "/exports/misp/push", Summary: "Push the MISP event of a scope to a MISP instance's REST API", Role: a, Mutating: true, Audit: true,
			Do: m.pushMISP, Request: mispPushRequest{}, Response: misp.PushResult{}},
	}
}

// ExportScope reads an export's scope (the API's parameters, the CLI's
// flags); its errors are refusals (ErrInvalid).
func ExportScope(attacker, identity, campaign, since, until string) (report.Scope, error) {
	var sc report.Scope
	n := 0
	if attacker != "" {
		ip, err := netip.ParseAddr(attacker)
		if err != nil {
			return sc, invalid("attacker %q is not an IP address", attacker)
		}
		sc.Attacker, n = ip.Unmap().String(), n+1
	}
	if identity != "" {
		if !correlate.IsIdentityID(identity) {
			return sc, invalid("identity %q is not an id such as I-0123456789ab", identity)
		}
		sc.Identity, n = identity, n+1
	}
	if campaign != "" {
		if !correlate.IsCampaignID(campaign) {
			return sc, invalid("campaign %q is not an id such as C-0123456789ab", campaign)
		}
		sc.Campaign, n = campaign, n+1
	}
	for _, t := range []struct {
		v  string
		to *time.Time
	}{{since, &sc.Since}, {until, &sc.Until}} {
		if t.v == "" {
			continue
		}
		p, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return sc, invalid("%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", t.v)
		}
		*t.to = p.UTC()
	}
	if n > 1 {
		return sc, invalid("give one of attacker, identity and campaign")
	}
	if n == 0 && sc.Since.IsZero() {
		return sc, invalid("give attacker, identity, campaign, or a time range (since, until)")
	}
	if !sc.Since.IsZero() && !sc.Until.IsZero() && !sc.Since.Before(sc.Until) {
		return sc, invalid("since must be before until")
	}
	return sc, nil
}

func (m *Master) collect(r *http.Request, sc report.Scope) (*report.Report, error) {
	rep, err := report.Collect(r.Context(), m.Store, sc, m.Attack.File(), time.Now())
	if errors.Is(err, report.ErrEmpty) {
		return nil, notFound("no attacker in that scope")
	}
	return rep, err
}

func (m *Master) queryScope(r *http.Request) (report.Scope, error) {
	if err := onlyParams(r, "attacker", "identity", "campaign", "since", "until"); err != nil {
		return report.Scope{}, err
	}
	q := r.URL.Query()
	return ExportScope(q.Get("attacker"), q.Get("identity"), q.Get("campaign"), q.Get("since"), q.Get("until"))
}

// export serves the export build makes of the query's scope.
func (m *Master) export(build func(*report.Report) any) func(*http.Request, *api.Principal) (any, error) {
	return func(r *http.Request, _ *api.Principal) (any, error) {
		sc, err := m.queryScope(r)
		if err != nil {
			return nil, err
		}
		rep, err := m.collect(r, sc)
		if err != nil {
			return nil, err
		}
		return build(rep), nil
	}
}

// mispPushRequest is the body of POST /exports/misp/push.
type mispPushRequest struct {
	// URL is the MISP instance (https://misp.example.org).
	URL string `json:"url"`
	// APIKey is a MISP automation key; it is used for this push only and
	// never stored.
	APIKey string `json:"api_key"`
	// AllowPrivate lets the push reach loopback and private addresses.
	AllowPrivate bool   `json:"allow_private,omitempty"`
	Attacker     string `json:"attacker,omitempty"`
	Identity     string `json:"identity,omitempty"`
	Campaign     string `json:"campaign,omitempty"`
	Since        string `json:"since,omitempty"`
	Until        string `json:"until,omitempty"`
}

func (m *Master) pushMISP(r *http.Request, _ *api.Principal) (any, error) {
	var req mispPushRequest
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(req.URL, "https://") && !strings.HasPrefix(req.URL, "http://") {
		return nil, invalid("url: want the MISP instance's https:// address")
	}
	if len(req.APIKey) < 16 || len(req.APIKey) > 256 {
		return nil, invalid("api_key: a MISP automation key (40 characters)")
	}
	sc, err := ExportScope(req.Attacker, req.Identity, req.Campaign, req.Since, req.Until)
	if err != nil {
		return nil, err
	}
	rep, err := m.collect(r, sc)
	if err != nil {
		return nil, err
	}
	p := &misp.Pusher{URL: req.URL, Key: req.APIKey, Client: output.GuardedHTTPClient(req.AllowPrivate, 30*time.Second, nil)}
	res, err := p.Push(r.Context(), misp.Build(rep))
	if err != nil {
		return nil, api.Errorf(http.StatusBadGateway, api.CodeUnavailable, "misp push: %v", err)
	}
	return res, nil
}

// TAXIIWindow is how far back the TAXII collection reaches.
const TAXIIWindow = 30 * 24 * time.Hour

// taxiiServer serves the STIX objects of the last TAXIIWindow over
// TAXII 2.1, to callers with an API token (Bearer, or Basic with the
// token as password, which many TAXII clients only speak).
func (m *Master) taxiiServer() *taxii.Server {
	return &taxii.Server{CacheFor: 30 * time.Second,
		Objects: func(ctx context.Context) ([]map[string]any, error) {
			now := time.Now()
			rep, err := report.Collect(ctx, m.Store, report.Scope{Since: now.Add(-TAXIIWindow), Until: now}, m.Attack.File(), now)
			if errors.Is(err, report.ErrEmpty) {
				return []map[string]any{}, nil
			}
			if err != nil {
				return nil, err
			}
			return stix.Build(rep).Objects, nil
		},
		Authorize: func(r *http.Request) error {
			if _, tok, ok := r.BasicAuth(); ok {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			if r.Header.Get("Authorization") == "" {
				return api.ErrUnauthenticated // a session cookie is not enough
			}
			who, err := m.api.Authenticate(r)
			if err != nil {
				return err
			}
			if who.MustChange || !who.Can(store.Viewer) {
				return errors.New("not allowed")
			}
			return nil
		}}
}
