package cli

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/agent"
	"github.com/decnet/decnet/internal/driver/host"
	"github.com/decnet/decnet/internal/pki"
)

// TestAgentMTLSAdmitsOnlyMaster serves the agent API with the listener
// configuration `decnet agent --listen` uses: a master certificate is
// served, an agent certificate of the same CA gets 403.
func TestAgentMTLSAdmitsOnlyMaster(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.NewCA("test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := write("ca.crt", ca.CertPEM)
	issue := func(role pki.Role, name string) (string, string) {
		crt, key, err := ca.Issue(role, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".crt", crt), write(name+".key", key)
	}
	agentCrt, agentKey := issue(pki.Agent("h1"), "agent")
	masterCrt, masterKey := issue(pki.Master(), "master")
	otherCrt, otherKey := issue(pki.Agent("h2"), "other")

	a, err := agent.New(filepath.Join(dir, "state"), host.New(t.TempDir(), nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cfg, err := agentTLS(agentCrt, agentKey, caFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.Handler("test", agent.MasterOnly)}
	go srv.Serve(l)
	defer srv.Close()

	pool, err := pki.NewPool(ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	get := func(crt, key string) int {
		cert, err := tls.LoadX509KeyPair(crt, key)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: pki.ClientTLSConfig(pool, cert, pki.AnyAgent),
		}}
		resp, err := c.Get("https://" + l.Addr().String() + "/topology/state")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(masterCrt, masterKey); got != http.StatusOK {
		t.Errorf("master: %d, want 200", got)
	}
	if got := get(otherCrt, otherKey); got != http.StatusForbidden {
		t.Errorf("agent role: %d, want 403", got)
	}
}
