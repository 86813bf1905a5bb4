package bus

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/testenv"
)

type testPKI struct {
	ca    *pki.CA
	other *pki.CA
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	ca, err := pki.NewCA("test CA", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("other CA", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{ca: ca, other: other}
}

func issue(t *testing.T, ca *pki.CA, role pki.Role) tls.Certificate {
	t.Helper()
	crt, key, err := ca.Issue(role, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func (p testPKI) clientTLS(t *testing.T, cert *tls.Certificate) *tls.Config {
	t.Helper()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.ca.Pool()}
	if cert != nil {
		// Always present it, even when the server asks for another CA's
		// certificates, so the server's verification is what refuses.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return cfg
}

// TestTLSRoles: an agent certificate of the CA publishes on its own
// subject only and cannot read others' traffic; the master may consume
// over the network; a certificate of another CA, or none, cannot connect.
func TestTLSRoles(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	s := startServer(t, t.TempDir(), ServerOptions{TLS: &ServerTLS{Pool: p.ca.Pool(), Cert: issue(t, p.ca, pki.Master())}})
	if !strings.HasPrefix(s.ClientURL(), "tls://") {
		t.Fatalf("ClientURL %s, want tls://", s.ClientURL())
	}
	_, js := masterJS(t, s)

	h1 := issue(t, p.ca, pki.Agent("h1"))
	pub, err := NewPublisher(s.ClientURL(), "h1", PublisherOptions{TLS: p.clientTLS(t, &h1), AckTimeout: 10 * time.Second, Logger: testenv.Logger(t, slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	publishAll(t, pub, makeEvents(10), 10)
	if got := streamMsgs(t, js); got != 10 {
		t.Fatalf("stream holds %d messages, want 10", got)
	}

	t.Run("agent cannot publish as another host", func(t *testing.T) {
		errs := make(chan error, 4)
		nc, err := nats.Connect(s.ClientURL(), nats.Secure(p.clientTLS(t, &h1)), nats.CustomInboxPrefix(AgentInboxPrefix("h1")),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				select {
				case errs <- err:
				default:
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		ajs, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := ajs.Publish(ctx, SubjectPrefix+"h2", []byte(`{"id":"forged"}`)); err == nil {
			t.Fatal("agent h1 published on decnet.events.h2")
		}
		if _, err := nc.Subscribe("_INBOX.>", func(*nats.Msg) {}); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		select {
		case err := <-errs:
			if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Errorf("error %v, want a permissions violation", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("no permissions violation reported for a forged publish or a foreign subscription")
		}
		if got := streamMsgs(t, js); got != 10 {
			t.Fatalf("stream holds %d messages after a forged publish, want 10", got)
		}
	})

	t.Run("master consumes over TLS", func(t *testing.T) {
		m := issue(t, p.ca, pki.Master())
		nc, err := nats.Connect(s.ClientURL(), nats.Secure(p.clientTLS(t, &m)))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		mjs, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		c := newCollector()
		runConsumer(t, mjs, "remote", c.handle)
		testenv.Eventually(t, 10*time.Second, "10 events over TLS", func() bool { _, u := c.counts(); return u == 10 })
	})

	for _, tc := range []struct {
		name string
		cert *tls.Certificate
	}{
		{"agent of another CA", func() *tls.Certificate { c := issue(t, p.other, pki.Agent("h1")); return &c }()},
		{"master of another CA", func() *tls.Certificate { c := issue(t, p.other, pki.Master()); return &c }()},
		{"no client certificate", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := nats.Connect(s.ClientURL(), nats.Secure(p.clientTLS(t, tc.cert)), nats.Timeout(3*time.Second))
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
		})
	}
}
