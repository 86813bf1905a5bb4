package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/driver/host"
	"github.com/decnet/decnet/internal/wire"
)

// A build whose bytes do not hash to the order's SHA-256, or that the
// master does not vouch for, is refused: nothing is switched.
func TestStageRefusesAWrongBuild(t *testing.T) {
	good := []byte("#!/bin/sh\necho '{\"version\": \"x\"}'\n")
	sum := sha256.Sum256(good)
	want := hex.EncodeToString(sum[:])
	junk := []byte("not an executable of this machine")
	junkSum := sha256.Sum256(junk)
	junkSHA := hex.EncodeToString(junkSum[:])
	for _, c := range []struct {
		name, order, header string
		body                []byte
		err                 string
	}{
		{"tampered bytes", want, want, []byte("#!/bin/sh\necho evil\n"), "SHA-256"},
		{"master vouches for another build", want, strings.Repeat("0", 64), good, "SHA-256"},
		{"does not run here", junkSHA, junkSHA, junk, "does not run here"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, err := stageFrom(t, c.header, c.body, c.order)
			var restart *RestartError
			if err == nil || errors.As(err, &restart) || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("stage: %v, want a refusal naming %s", err, c.err)
			}
			if _, err := os.Lstat(filepath.Join(dir, "bin", "current")); err == nil {
				t.Fatal("a refused build became current")
			}
		})
	}
}

// stageFrom stages order from a master serving body with header as its
// build's hash; it returns the agent directory and stage's answer.
func stageFrom(t *testing.T, header string, body []byte, order string) (string, error) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wire.PathAgentBinary {
			http.NotFound(w, r)
			return
		}
		w.Header().Set(wire.HeaderBinarySHA256, header)
		w.Write(body)
	}))
	defer srv.Close()
	dir := t.TempDir()
	a, err := New(dir, host.New(t.TempDir(), nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	en := &Enrollment{Master: strings.TrimPrefix(srv.URL, "https://")}
	return dir, a.stage(context.Background(), en, srv.Client(), "/usr/bin/decnet", &wire.UpdateOrder{SHA256: order, Version: "9"})
}

// A build that hashes right and runs is switched to, and the restart
// carries the way back.
func TestStageSwitchesToAGoodBuild(t *testing.T) {
	good := []byte("#!/bin/sh\necho '{\"version\": \"9\"}'\n")
	sum := sha256.Sum256(good)
	want := hex.EncodeToString(sum[:])
	dir, err := stageFrom(t, want, good, want)
	var restart *RestartError
	if !errors.As(err, &restart) || len(restart.Env) != 1 || !strings.Contains(restart.Env[0], `"from":"/usr/bin/decnet"`) {
		t.Fatalf("stage: %v", err)
	}
	cur, err := filepath.EvalSymlinks(filepath.Join(dir, "bin", "current"))
	if err != nil || cur != restart.Binary {
		t.Fatalf("current -> %q (%v), restart into %q", cur, err, restart.Binary)
	}
}
