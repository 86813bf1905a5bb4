package master

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/wire"
)

// AgentBinary is the build the master serves to its agents: its own
// executable. An operator's update asks an agent to run it; the agent
// fetches it over mutual TLS and checks its SHA-256 before switching. It
// is hashed on first use, not when the master (or a CLI command over its
// data) opens.
type AgentBinary struct {
	Path    string
	Version string

	once   sync.Once
	sha256 string
	size   int64
	err    error
}

// Hash returns the build's hex SHA-256 and size, reading it once.
func (b *AgentBinary) Hash() (string, int64, error) {
	b.once.Do(func() {
		f, err := os.Open(b.Path)
		if err != nil {
			b.err = fmt.Errorf("master: the build to serve agents: %w", err)
			return
		}
		defer f.Close()
		h := sha256.New()
		if b.size, err = io.Copy(h, f); err != nil {
			b.err = fmt.Errorf("master: hash %s: %w", b.Path, err)
			return
		}
		b.sha256 = hex.EncodeToString(h.Sum(nil))
	})
	return b.sha256, b.size, b.err
}

// serveBinary is GET PathAgentBinary for enrolled agents.
func (a *Authority) serveBinary(w http.ResponseWriter, r *http.Request) {
	if _, err := a.AgentFromRequest(r); err != nil {
		agentError(w, http.StatusForbidden, "FORBIDDEN", err.Error())
		return
	}
	b := a.Binary
	if b == nil {
		agentError(w, http.StatusNotFound, "NOT_FOUND", "this master serves no build")
		return
	}
	sum, _, err := b.Hash()
	if err != nil {
		agentError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	f, err := os.Open(b.Path)
	if err != nil {
		agentError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(wire.HeaderBinarySHA256, sum)
	http.ServeContent(w, r, "decnet", time.Time{}, f)
}

// updateFor reads what a heartbeat says of updates and returns the order
// to send back, if any: an agent asked to update that does not run the
// master's build gets it; one that runs it, or reports that it went back,
// ends the request.
func (a *Authority) updateFor(ctx context.Context, host string, hb *wire.Heartbeat) (*wire.UpdateOrder, error) {
	requested, err := a.Store.RecordAgentBuild(ctx, host, hb.Version, hb.BinarySHA256)
	if err != nil {
		return nil, err
	}
	b := a.Binary
	var sum string
	var size int64
	if requested && b != nil {
		if sum, size, err = b.Hash(); err != nil {
			return nil, err
		}
	}
	switch {
	case hb.UpdateFailed != nil:
		a.Log.Warn("agent update rolled back", "host_id", host, "sha256", hb.UpdateFailed.SHA256, "err", hb.UpdateFailed.Error)
		msg := fmt.Sprintf("update to %s (%s) rolled back: %s", hb.UpdateFailed.Version, short(hb.UpdateFailed.SHA256), hb.UpdateFailed.Error)
		return nil, a.Store.SetUpdate(ctx, host, false, msg)
	case !requested || b == nil:
		return nil, nil
	case hb.BinarySHA256 == sum:
		a.Log.Info("agent updated", "host_id", host, "version", hb.Version)
		return nil, a.Store.SetUpdate(ctx, host, false, "")
	case hb.BinarySHA256 == "":
		return nil, a.Store.SetUpdate(ctx, host, false, "the agent does not report its build; it cannot be updated from here")
	}
	return &wire.UpdateOrder{SHA256: sum, Version: b.Version, Size: size}, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// updateRequest is the body of POST /hosts/{id}/update and /hosts/update.
type updateRequest struct {
	// Cancel withdraws a pending request instead.
	Cancel bool `json:"cancel,omitempty"`
}

// UpdateResult is the answer of the update routes: the hosts asked and
// the build they are to run.
type UpdateResult struct {
	Hosts   []string `json:"hosts"`
	SHA256  string   `json:"sha256"`
	Version string   `json:"version"`
}

func (m *Master) updateHost(r *http.Request, _ *api.Principal) (any, error) {
	return m.requestUpdate(r, []string{r.PathValue("id")})
}

func (m *Master) updateAll(r *http.Request, _ *api.Principal) (any, error) {
	return m.requestUpdate(r, nil)
}

func (m *Master) requestUpdate(r *http.Request, ids []string) (any, error) {
	var req updateRequest
	if r.ContentLength != 0 {
		if err := decodeRequest(r, &req); err != nil {
			return nil, err
		}
	}
	b := m.Authority.Binary
	if b == nil {
		return nil, api.Errorf(http.StatusConflict, api.CodeConflict, "this master serves no build to agents")
	}
	sum, _, err := b.Hash()
	if err != nil {
		return nil, api.Errorf(http.StatusConflict, api.CodeConflict, "this master's build cannot be read: %v", err)
	}
	ids, err = RequestUpdate(r.Context(), m.Store, ids, req.Cancel)
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "host/"+joinIDs(ids), "update to "+b.Version+" ("+short(sum)+") cancel="+strconv.FormatBool(req.Cancel))
	return UpdateResult{Hosts: ids, SHA256: sum, Version: b.Version}, nil
}

func joinIDs(ids []string) string {
	if len(ids) == 1 {
		return ids[0]
	}
	return "*"
}

// RequestUpdate asks hosts (every live one when ids is empty) to run the
// master's build, as the API does; for the CLI over a master's data.
func RequestUpdate(ctx context.Context, st store.Store, ids []string, cancel bool) ([]string, error) {
	if len(ids) == 0 {
		ids = []string{}
		hosts, err := st.ListHosts(ctx)
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			if !h.Decommissioned {
				ids = append(ids, h.ID)
			}
		}
	}
	for _, id := range ids {
		if err := st.SetUpdate(ctx, id, !cancel, ""); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
