package output

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
)

func TestPrivateTargets(t *testing.T) {
	for addr, private := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "172.31.255.255": true,
		"192.168.1.1": true, "169.254.169.254": true, "fe80::1": true, "fd00::1": true, "0.0.0.0": true, "::": true,
		"100.64.0.1": true, "224.0.0.251": true, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, "192.0.0.170": true,
		"8.8.8.8": false, "1.1.1.1": false, "172.32.0.1": false, "2001:4860:4860::8888": false, "100.128.0.1": false,
	} {
		if got := privateTarget(netip.MustParseAddr(addr)) != ""; got != private {
			t.Errorf("%s: private %v, want %v", addr, got, private)
		}
	}
}

func TestWebhookConfigRefusesPrivateLiterals(t *testing.T) {
	secret := "0123456789abcdef"
	for _, u := range []string{"http://127.0.0.1:9000/h", "https://[::1]/h", "http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.7/h", "http://localhost:8080/", "http://api.localhost/"} {
		err := Config{Name: "w", Kind: KindWebhook, URL: u, Secret: secret}.Validate()
		if err == nil || !strings.Contains(err.Error(), "allow_private") {
			t.Errorf("%s: %v, want a refusal naming allow_private", u, err)
		}
		if err := (Config{Name: "w", Kind: KindWebhook, URL: u, Secret: secret, AllowPrivate: true}).Validate(); err != nil {
			t.Errorf("%s with allow_private: %v", u, err)
		}
	}
	if err := (Config{Name: "w", Kind: KindWebhook, URL: "https://siem.example/h", Secret: secret}).Validate(); err != nil {
		t.Errorf("a public name: %v", err)
	}
}

// The check is made on the address dialed, after resolution: a name that
// resolves to loopback is refused, and nothing reaches the server.
func TestWebhookDialRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	ev := []event.Event{{ID: event.NewID(), Type: "ssh.login.failed", Time: time.Now()}}
	for _, u := range []string{srv.URL, "http://localhost:" + port, "http://127.0.0.1.nip.invalid.:" + port} {
		opts := fastHook(1)
		opts.AllowPrivate, opts.Attempts = false, 1
		o, err := NewWebhook("soc", u, testSecret, opts)
		if err != nil {
			t.Fatal(err)
		}
		err = o.Deliver(context.Background(), ev)
		var pe *PrivateTargetError
		if strings.Contains(u, "invalid") {
			// An unresolvable name fails in resolution, before any dial.
			if err == nil {
				t.Errorf("%s: delivered", u)
			}
		} else if !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a PrivateTargetError", u, err)
		}
		o.Close()
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
	opts := fastHook(1)
	o, err := NewWebhook("soc", srv.URL, testSecret, opts) // AllowPrivate
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Deliver(context.Background(), ev); err != nil || hits.Load() != 1 {
		t.Fatalf("with allow_private: %v, %d requests", err, hits.Load())
	}
}
