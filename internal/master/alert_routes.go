package master

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

// alertRoutes serve the alert rules, the alerts and the threat level.
// Rules are the admin's; any user may acknowledge and close alerts, and
// those writes are audited.
func (m *Master) alertRoutes() []api.Route {
	v, a := store.Viewer, store.Admin
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/alert-rules", Summary: "List alert rules, by name", Role: v, Do: m.listAlertRules, Response: api.List[alert.Rule]{}},
		{Method: http.MethodPost, Pattern: "/alert-rules", Summary: "Create an alert rule (event filters and a condition: each, threshold, first_touch)", Role: a, Mutating: true, Do: m.createAlertRule, Request: alertRuleRequest{}, Response: alert.Rule{}},
		{Method: http.MethodGet, Pattern: "/alert-rules/{id}", Summary: "One alert rule", Role: v, Do: m.getAlertRule, Response: alert.Rule{}},
		{Method: http.MethodPut, Pattern: "/alert-rules/{id}", Summary: "Replace an alert rule; its alerts stay", Role: a, Mutating: true, Do: m.putAlertRule, Request: alertRuleRequest{}, Response: alert.Rule{}},
		{Method: http.MethodDelete, Pattern: "/alert-rules/{id}", Summary: "Delete an alert rule; its alerts stay", Role: a, Mutating: true, Do: m.deleteAlertRule},
		{Method: http.MethodGet, Pattern: "/alerts", Summary: "List alerts, newest first (?status, ?rule, ?source, paged)", Role: v, Do: m.listAlerts, Response: api.List[store.Alert]{}},
		{Method: http.MethodGet, Pattern: "/alerts/{id}", Summary: "One alert with its evidence (the ids of the events that raised it)", Role: v, Do: m.getAlert, Response: store.Alert{}},
		{Method: http.MethodPost, Pattern: "/alerts/{id}/ack", Summary: "Acknowledge an open alert", Role: v, Mutating: true, Audit: true, Do: m.ackAlert, Response: store.Alert{}},
		{Method: http.MethodPost, Pattern: "/alerts/{id}/close", Summary: "Close an open or acknowledged alert; the rule may raise a new one for the source", Role: v, Mutating: true, Audit: true, Do: m.closeAlert, Response: store.Alert{}},
		{Method: http.MethodGet, Pattern: "/threat-level", Summary: "The threat level derived from the active alerts", Role: v, Do: m.threatLevel, Response: alert.ThreatLevel{}},
	}
}

// alertRuleRequest is the body of POST /alert-rules and PUT
// /alert-rules/{id}. Enabled defaults to true on create and to the
// current value on replace.
type alertRuleRequest struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Enabled     *bool           `json:"enabled,omitempty"`
	Severity    int             `json:"severity"`
	Match       alert.Match     `json:"match"`
	Condition   alert.Condition `json:"condition"`
}

func (req *alertRuleRequest) rule(enabled, honey bool) (*alert.Rule, error) {
	if req.Enabled != nil {
		enabled = *req.Enabled
	}
	r := &alert.Rule{Name: req.Name, Description: req.Description, Enabled: enabled, Severity: req.Severity, Match: req.Match, Condition: req.Condition}
	if err := r.Validate(honey); err != nil {
		return nil, invalid("%v", err)
	}
	return r, nil
}

func ruleOf(row *store.AlertRuleRow) (*alert.Rule, error) {
	return alert.FromStored(row.ID, row.Name, row.Enabled, row.Spec, row.CreatedAt, row.UpdatedAt)
}

func (m *Master) alertRule(ctx context.Context, id string) (*alert.Rule, error) {
	row, err := m.Store.AlertRule(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no alert rule %q", id)
	}
	if err != nil {
		return nil, err
	}
	return ruleOf(row)
}

func (m *Master) listAlertRules(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	rows, err := m.Store.ListAlertRules(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]alert.Rule, 0, len(rows))
	for i := range rows {
		rule, err := ruleOf(&rows[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *rule)
	}
	return api.List[alert.Rule]{Items: out}, nil
}

func (m *Master) getAlertRule(r *http.Request, _ *api.Principal) (any, error) {
	return m.alertRule(r.Context(), r.PathValue("id"))
}

func (m *Master) storeRule(ctx context.Context, rule *alert.Rule, create bool) error {
	spec, err := alert.SpecOf(rule)
	if err != nil {
		return err
	}
	row := &store.AlertRuleRow{ID: rule.ID, Name: rule.Name, Enabled: rule.Enabled, Spec: spec}
	if create {
		err = m.Store.CreateAlertRule(ctx, row)
	} else {
		err = m.Store.UpdateAlertRule(ctx, row)
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		return conflict("an alert rule named %q exists", rule.Name)
	case errors.Is(err, store.ErrNotFound):
		return notFound("no alert rule %q", rule.ID)
	case err != nil:
		return err
	}
	rule.CreatedAt, rule.UpdatedAt = row.CreatedAt, row.UpdatedAt
	m.Alerts.Reload()
	return nil
}

func (m *Master) createAlertRule(r *http.Request, _ *api.Principal) (any, error) {
	var req alertRuleRequest
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	rule, err := req.rule(true, m.Alerts.HoneyKnown())
	if err != nil {
		return nil, err
	}
	rule.ID = event.NewID()
	api.SetAudit(r, "alert-rule/"+rule.ID, "name="+strconv.Quote(rule.Name)+" condition="+rule.Condition.Kind)
	if err := m.storeRule(r.Context(), rule, true); err != nil {
		return nil, err
	}
	return api.Reply{Status: http.StatusCreated, Body: rule}, nil
}

func (m *Master) putAlertRule(r *http.Request, _ *api.Principal) (any, error) {
	var req alertRuleRequest
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	cur, err := m.alertRule(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	rule, err := req.rule(cur.Enabled, m.Alerts.HoneyKnown())
	if err != nil {
		return nil, err
	}
	rule.ID = cur.ID
	api.SetAudit(r, "alert-rule/"+rule.ID, "name="+strconv.Quote(rule.Name)+" enabled="+strconv.FormatBool(rule.Enabled))
	if err := m.storeRule(r.Context(), rule, false); err != nil {
		return nil, err
	}
	return rule, nil
}

func (m *Master) deleteAlertRule(r *http.Request, _ *api.Principal) (any, error) {
	id := r.PathValue("id")
	api.SetAudit(r, "alert-rule/"+id, "")
	if err := m.Store.DeleteAlertRule(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no alert rule %q", id)
	} else if err != nil {
		return nil, err
	}
	m.Alerts.Reload()
	return api.Reply{Status: http.StatusNoContent}, nil
}

func (m *Master) listAlerts(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r, "status", "rule", "source", "limit", "cursor"); err != nil {
		return nil, err
	}
	p, err := api.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	f := store.AlertFilter{Status: q.Get("status"), RuleID: q.Get("rule"), Source: q.Get("source"), Before: p.Cursor, Limit: p.Limit + 1}
	switch f.Status {
	case "", store.AlertOpen, store.AlertAcknowledged, store.AlertClosed:
	default:
		return nil, invalid("status must be open, acknowledged or closed")
	}
	if f.Source != "" {
		ip, err := netip.ParseAddr(f.Source)
		if err != nil {
			return nil, invalid("source must be an IP address")
		}
		f.Source = ip.Unmap().String()
	}
	as, err := m.Store.ListAlerts(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return api.NewList(as, p.Limit, func(a store.Alert) string { return a.ID }), nil
}

func (m *Master) getAlert(r *http.Request, _ *api.Principal) (any, error) {
	a, err := m.Store.Alert(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no alert %q", r.PathValue("id"))
	}
	return a, err
}

func (m *Master) ackAlert(r *http.Request, who *api.Principal) (any, error) {
	return m.setAlertStatus(r, who, []string{store.AlertOpen}, store.AlertAcknowledged)
}

func (m *Master) closeAlert(r *http.Request, who *api.Principal) (any, error) {
	return m.setAlertStatus(r, who, []string{store.AlertOpen, store.AlertAcknowledged}, store.AlertClosed)
}

func (m *Master) setAlertStatus(r *http.Request, who *api.Principal, from []string, to string) (any, error) {
	id := r.PathValue("id")
	api.SetAudit(r, "alert/"+id, "to="+to)
	a, err := m.Store.SetAlertStatus(r.Context(), id, from, to, who.Name, time.Now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("no alert %q", id)
	case errors.Is(err, store.ErrConflict):
		cur, _ := m.Store.Alert(r.Context(), id)
		if cur != nil {
			return nil, conflict("alert %s is %s", id, cur.Status)
		}
		return nil, conflict("alert %s changed meanwhile", id)
	case err != nil:
		return nil, err
	}
	m.log.Info("alert status changed", "status", to, "alert_id", id, "by", who.Name)
	return a, nil
}

func (m *Master) threatLevel(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	counts, err := m.Store.ActiveAlertCounts(r.Context())
	if err != nil {
		return nil, err
	}
	return alert.Level(counts), nil
}

// HoneyRuleName is the built-in honey credential rule.
const HoneyRuleName = "Honey credential used"

// ensureHoneyRule makes the built-in honey credential rule when no rule
// has that condition: a high alert on any use of a planted credential,
// whatever the service or decky. Disable it to silence it; a deleted one
// comes back at the next start.
func (m *Master) ensureHoneyRule(ctx context.Context) error {
	rows, err := m.Store.ListAlertRules(ctx)
	if err != nil {
		return err
	}
	for i := range rows {
		if r, err := ruleOf(&rows[i]); err == nil && r.Condition.Kind == alert.HoneyCredential {
			return nil
		}
	}
	rule := &alert.Rule{ID: event.NewID(), Name: HoneyRuleName, Enabled: true, Severity: event.High,
		Description: "Built in: a credential planted in a decky's bait was tried against a service. Only someone who read the bait has it.",
		Condition:   alert.Condition{Kind: alert.HoneyCredential}}
	if err := rule.Validate(true); err != nil {
		return err
	}
	if err := m.storeRule(ctx, rule, true); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}
