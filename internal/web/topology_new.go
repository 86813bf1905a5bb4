package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/topology"
)

// The "create from a spec or an INI file" page. Checking and creating go
// through the API (POST /api/v1/topologies/validate and /topologies); the
// dashboard only draws the checked spec with its issues on the objects
// they name.

func (s *Server) newTopology(r *http.Request, _ *api.Principal) (string, any, error) {
	hosts, err := s.enrolledHosts(r.Context())
	if err != nil {
		return "", nil, err
	}
	return "New topology", hosts, nil
}

// previewRequest is what the page sends after a check: the spec the API
// decoded and its issues.
type previewRequest struct {
	Spec   json.RawMessage  `json:"spec"`
	Issues []topology.Issue `json:"issues"`
}

// maxPreview bounds a preview request: a spec and its issues.
const maxPreview = topology.MaxSpecSize + 1<<20

// preview answers the network map of a checked spec as an HTML fragment,
// with each issue on the LAN or decky it names.
func (s *Server) preview(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	if !who.CSRFMatches(r.Header.Get(api.CSRFHeader)) {
		http.Error(w, "missing or wrong "+api.CSRFHeader+" header", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPreview+1))
	if err != nil || len(body) > maxPreview {
		http.Error(w, "the request is too large", http.StatusRequestEntityTooLarge)
		return
	}
	var req previewRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Spec) == 0 || req.Spec[0] != '{' {
		http.Error(w, "want {spec: object, issues: [...]}", http.StatusBadRequest)
		return
	}
	spec, err := topology.DecodeBytes(req.Spec)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := buildMap(spec)
	m.mark(req.Issues)
	m.State = "pending"
	var buf bytes.Buffer
	if err := s.pages["topology"].ExecuteTemplate(&buf, "netmap", m); err != nil {
		s.log.Error("render preview", "err", err)
		http.Error(w, "could not draw the map", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
