package master

import (
	"net/http"
	"strconv"

	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/output"
	"github.com/decnet/decnet/internal/store"
)

// outputRoutes are the operator API's SIEM output routes. All need the
// admin role, reads included: an output's config says where the event
// stream goes (secrets are redacted all the same).
func (m *Master) outputRoutes() []api.Route {
	a := store.Admin
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/outputs", Summary: "List SIEM outputs (API and command-line) with their delivery status; secrets redacted", Role: a, Handler: m.listOutputs, Response: api.List[OutputView]{}},
		{Method: http.MethodPost, Pattern: "/outputs", Summary: "Create a SIEM output (file, syslog, webhook, splunk_hec, elasticsearch or kafka) and start it", Role: a, Mutating: true, Handler: m.createOutput, Request: outputRequest{}, Response: OutputView{}},
		{Method: http.MethodGet, Pattern: "/outputs/{name}", Summary: "One SIEM output with its delivery status; secret redacted", Role: a, Handler: m.getOutput, Response: OutputView{}},
		{Method: http.MethodPut, Pattern: "/outputs/{name}", Summary: "Replace an output's config (an empty secret keeps the current one); it resumes from its position", Role: a, Mutating: true, Handler: m.putOutput, Request: outputRequest{}, Response: OutputView{}},
		{Method: http.MethodDelete, Pattern: "/outputs/{name}", Summary: "Delete an output and its position in the event stream", Role: a, Mutating: true, Handler: m.deleteOutput},
		{Method: http.MethodPost, Pattern: "/outputs/{name}/test", Summary: "Send a sample event through an output; a failure is reported as ok:false", Role: a, Mutating: true, Handler: m.testOutput, Response: OutputTest{}},
		{Method: http.MethodPost, Pattern: "/outputs/{name}/enable", Summary: "Start an output again from its position (also re-enables a webhook that disabled itself)", Role: a, Mutating: true, Handler: m.enableOutput, Response: OutputView{}},
		{Method: http.MethodPost, Pattern: "/outputs/{name}/disable", Summary: "Stop an output, keeping its position in the event stream", Role: a, Mutating: true, Handler: m.disableOutput, Response: OutputView{}},
	}
}

// outputRequest is the body of POST /outputs and PUT /outputs/{name}: the
// fields of output.Config, and whether the output runs (default true on
// create, unchanged on replace).
type outputRequest struct {
	output.Config
	Enabled *bool `json:"enabled,omitempty"`
}

func (m *Master) listOutputs(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	if err := onlyParams(r); err != nil {
		api.WriteError(w, err)
		return
	}
	vs, err := m.Outputs.List(r.Context())
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, api.List[OutputView]{Items: vs})
}

func (m *Master) getOutput(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	v, err := m.Outputs.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

func (m *Master) createOutput(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	var req outputRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	enabled := req.Enabled == nil || *req.Enabled
	// Never the URL or the secret: a URL may carry a token.
	api.SetAudit(r, "output/"+req.Name, "kind="+req.Kind+" enabled="+strconv.FormatBool(enabled))
	v, err := m.Outputs.Create(r.Context(), req.Config, enabled)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, v)
}

func (m *Master) putOutput(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	var req outputRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	name := r.PathValue("name")
	api.SetAudit(r, "output/"+name, "kind="+req.Kind+" secret_changed="+strconv.FormatBool(req.Secret != ""))
	v, err := m.Outputs.Replace(r.Context(), name, req.Config, req.Enabled)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

func (m *Master) deleteOutput(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	name := r.PathValue("name")
	api.SetAudit(r, "output/"+name, "")
	if err := m.Outputs.Delete(r.Context(), name); err != nil {
		api.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (m *Master) testOutput(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	name := r.PathValue("name")
	res, err := m.Outputs.Test(r.Context(), name)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.SetAudit(r, "output/"+name, "ok="+strconv.FormatBool(res.OK))
	api.WriteJSON(w, http.StatusOK, res)
}

func (m *Master) enableOutput(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	m.switchOutput(w, r, true)
}

func (m *Master) disableOutput(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	m.switchOutput(w, r, false)
}

func (m *Master) switchOutput(w http.ResponseWriter, r *http.Request, enabled bool) {
	name := r.PathValue("name")
	api.SetAudit(r, "output/"+name, "enabled="+strconv.FormatBool(enabled))
	v, err := m.Outputs.SetEnabled(r.Context(), name, enabled)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}
