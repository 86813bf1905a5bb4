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
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": version})
	})
	mux.HandleFunc("GET /topology/state", func(w http.ResponseWriter, r *http.Request) {
		st, err := a.State(r.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st, err := a.Status(r.Context())
		if err != nil {
			writeError(w, &RequestError{Status: http.StatusBadGateway, Code: "ENGINE_UNREACHABLE", Msg: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deckies": st})
	})
	mux.HandleFunc("POST /topology/apply", func(w http.ResponseWriter, r *http.Request) {
		var req ApplyRequest
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
				_ = json.NewEncoder(w).Encode(map[string]any{"progress": p})
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
	mux.HandleFunc("POST /topology/teardown", func(w http.ResponseWriter, r *http.Request) {
		var req TeardownRequest
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			if err := check(r); err != nil {
				writeError(w, &RequestError{Status: http.StatusForbidden, Code: "FORBIDDEN", Msg: err.Error()})
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

func writeResult(w http.ResponseWriter, stream bool, res FinishedOp) {
	if stream {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_ = json.NewEncoder(w).Encode(map[string]any{"result": res})
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
		return &RequestError{Status: http.StatusBadRequest, Code: "BAD_REQUEST", Msg: "cannot decode request body: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &RequestError{Status: http.StatusBadRequest, Code: "BAD_REQUEST", Msg: "trailing data after the request body"}
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
		re = &RequestError{Status: http.StatusInternalServerError, Code: "INTERNAL", Msg: err.Error()}
	}
	writeJSON(w, re.Status, map[string]any{"error": re})
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

// Serve serves h on every listener until ctx is done, then shuts down
// gracefully.
func Serve(ctx context.Context, h http.Handler, listeners ...net.Listener) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errc <- srv.Serve(l) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			srv.Close()
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
