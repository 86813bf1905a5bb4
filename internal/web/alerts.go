package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

// alertsView is the alerts page: the threat level and the alerts of one
// status (all when empty).
type alertsView struct {
	Threat   alert.ThreatLevel
	Status   string
	Statuses []string
	Alerts   []store.Alert
}

func (s *Server) threat(r *http.Request) (alert.ThreatLevel, error) {
	return s.threatLevel(r.Context())
}

func (s *Server) threatLevel(ctx context.Context) (alert.ThreatLevel, error) {
	counts, err := s.st.ActiveAlertCounts(ctx)
	if err != nil {
		return alert.ThreatLevel{}, err
	}
	return alert.Level(counts), nil
}

func (s *Server) alertsPage(r *http.Request, _ *api.Principal) (string, any, error) {
	status := r.URL.Query().Get("status")
	switch status {
	case "", store.AlertOpen, store.AlertAcknowledged, store.AlertClosed:
	default:
		return "", nil, fmt.Errorf("%w: status must be open, acknowledged or closed", errBadRequest)
	}
	v := alertsView{Status: status, Statuses: []string{"", store.AlertOpen, store.AlertAcknowledged, store.AlertClosed}}
	var err error
	if v.Threat, err = s.threat(r); err != nil {
		return "", nil, err
	}
	if v.Alerts, err = s.st.ListAlerts(r.Context(), store.AlertFilter{Status: status, Limit: listCap}); err != nil {
		return "", nil, err
	}
	return "Alerts", v, nil
}

// ruleRow is one alert rule on the rules page, with its JSON for the
// editor.
type ruleRow struct {
	alert.Rule
	JSON    string
	Filters string
	When    string
}

func (s *Server) alertRulesPage(r *http.Request, _ *api.Principal) (string, any, error) {
	rows, err := s.st.ListAlertRules(r.Context())
	if err != nil {
		return "", nil, err
	}
	out := make([]ruleRow, 0, len(rows))
	for i := range rows {
		rule, err := alert.FromStored(rows[i].ID, rows[i].Name, rows[i].Enabled, rows[i].Spec, rows[i].CreatedAt, rows[i].UpdatedAt)
		if err != nil {
			return "", nil, err
		}
		b, err := json.Marshal(rule)
		if err != nil {
			return "", nil, err
		}
		out = append(out, ruleRow{Rule: *rule, JSON: string(b), Filters: filtersText(&rule.Match), When: conditionText(&rule.Condition)})
	}
	return "Alert rules", out, nil
}

func filtersText(m *alert.Match) string {
	var parts []string
	for _, f := range []struct {
		name string
		vs   []string
	}{{"type", m.Types}, {"service", m.Services}, {"decky", m.Deckies}, {"topology", m.Topologies}, {"LAN", m.LANs}, {"tag", m.Tags}, {"source", m.Sources}} {
		if len(f.vs) > 0 {
			parts = append(parts, f.name+" "+strings.Join(f.vs, " or "))
		}
	}
	if m.MinSeverity > 0 {
		parts = append(parts, "severity ≥ "+severityName(m.MinSeverity))
	}
	if len(parts) == 0 {
		return "every event"
	}
	return strings.Join(parts, "; ")
}

func conditionText(c *alert.Condition) string {
	switch c.Kind {
	case alert.Threshold:
		return fmt.Sprintf("%d from one source within %s", c.Count, fmtDuration(c.Window))
	case alert.FirstTouch:
		return "first event of a source on a decky"
	case alert.HoneyCredential:
		return "a honey credential is used"
	}
	return "each matching event"
}

func fmtDuration(d alert.Duration) string {
	b, _ := d.MarshalJSON()
	return strings.Trim(string(b), `"`)
}
