package agent

import (
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

	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/wire"
)

// MaxRequestBody bounds a push; a topology of a thousand deckies is far below.
const MaxRequestBody = 16 << 20

// RoleChecker says whether the TLS peer of a request may call the agent.
// Requests over the unix socket carry no TLS state and are trusted: the
// socket is 0600 and owned by the agent's user.
type RoleChecker func(r *http.Request) error

// Handler returns the agent's HTTP API.
func (a *Agent) Handler(version string, check RoleChecker) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+wire.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": version})
	})
	mux.HandleFunc("GET "+wire.PathState, func(w http.ResponseWriter, r *http.Request) {
		st, err := a.State(r.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET "+wire.PathStatus, func(w http.ResponseWriter, r *http.Request) {
		st, err := a.Status(r.Context())
		if err != nil {
			writeError(w, refuse(http.StatusBadGateway, "ENGINE_UNREACHABLE", "%v", err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deckies": st})
	})
	mux.HandleFunc("POST "+wire.PathApply, func(w http.ResponseWriter, r *http.Request) {
		var req wire.ApplyRequest
		if err := decodeBody(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		stream := r.URL.Query().Get("progress") == "1"
		var progress driver.ProgressFunc
		var mu sync.Mutex
		if stream {
			// Progress is streamed as JSON lines; the last line is the
			// result. Apply refuses a push before it reports any progress,
			// so a refusal still gets its own status and error body.
			progress = func(p driver.Progress) {
				mu.Lock()
				defer mu.Unlock()
				w.Header().Set("Content-Type", "application/x-ndjson")
				_ = json.NewEncoder(w).Encode(wire.ProgressLine{Progress: &p})
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
			}
		}
		res, err := a.Apply(&req, progress)
		if err != nil {
			writeError(w, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		writeResult(w, stream, res)
	})
	mux.HandleFunc("POST "+wire.PathTeardown, func(w http.ResponseWriter, r *http.Request) {
		var req wire.TeardownRequest
		if err := decodeBody(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		res, err := a.Teardown(&req)
		if err != nil {
			writeError(w, err)
			return
		}
		writeResult(w, false, res)
	})
	mux.HandleFunc("POST "+wire.PathWipe, func(w http.ResponseWriter, r *http.Request) {
		var req wire.TeardownRequest
		if err := decodeBody(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		res, err := a.Wipe(&req)
		if err != nil {
			writeError(w, err)
			return
		}
		writeResult(w, false, res)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			if err := check(r); err != nil {
				writeError(w, refuse(http.StatusForbidden, "FORBIDDEN", "%v", err))
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// writeResult answers an operation: 200 when it succeeded, 500 with the
// same body when it failed, or the last line of a progress stream.
func writeResult(w http.ResponseWriter, stream bool, res wire.OpResult) {
	if stream {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_ = json.NewEncoder(w).Encode(wire.ProgressLine{Result: &res})
		return
	}
	status := http.StatusOK
	if !res.OK {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, res)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refuse(http.StatusBadRequest, "BAD_REQUEST", "cannot decode request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return refuse(http.StatusBadRequest, "BAD_REQUEST", "trailing data after the request body")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		re = refuse(http.StatusInternalServerError, "INTERNAL", "%v", err)
	}
	writeJSON(w, re.Status, wire.ErrorBody{Error: re.Body})
}

// ListenUnix listens on a unix socket readable and writable by the owner
// only. A stale socket file left by a dead agent is replaced.
func ListenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another agent is listening on %s", path)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// serve serves h on l until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, h http.Handler, l net.Listener) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}
