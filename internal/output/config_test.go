package output

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	secret := "0123456789abcdef"
	cases := []struct {
		name     string
		cfg      Config
		problems int
	}{
		{"file", Config{Name: "jsonl", Kind: KindFile, Path: "/var/log/decnet.jsonl"}, 0},
		{"syslog", Config{Name: "siem", Kind: KindSyslog, Address: "siem.example:6514", TLS: true, CA: "/ca.pem"}, 0},
		{"webhook", Config{Name: "soc_1", Kind: KindWebhook, URL: "https://soc.example/hook", Secret: secret, MaxFailures: 3}, 0},
		{"no kind", Config{Name: "x"}, 1},
		{"bad name", Config{Name: "a.b", Kind: KindFile, Path: "/x"}, 1},
		{"empty name", Config{Kind: KindFile, Path: "/x"}, 1},
		{"file without path", Config{Name: "f", Kind: KindFile, Keep: -1}, 2},
		{"syslog bad address", Config{Name: "s", Kind: KindSyslog, Address: "siem"}, 1},
		{"syslog port 0", Config{Name: "s", Kind: KindSyslog, Address: "siem:0"}, 1},
		{"syslog CA without TLS", Config{Name: "s", Kind: KindSyslog, Address: "siem:514", CA: "/ca.pem"}, 1},
		{"cert without key", Config{Name: "s", Kind: KindSyslog, Address: "siem:514", TLS: true, Cert: "/c.pem"}, 1},
		{"webhook short secret", Config{Name: "w", Kind: KindWebhook, URL: "https://soc.example/", Secret: "short"}, 1},
		{"webhook ftp", Config{Name: "w", Kind: KindWebhook, URL: "ftp://soc.example/", Secret: secret}, 1},
		{"webhook credentials in URL", Config{Name: "w", Kind: KindWebhook, URL: "https://u:p@soc.example/", Secret: secret}, 1},
		{"webhook everything wrong", Config{Name: "W", Kind: KindWebhook, URL: "soc", MaxFailures: -1}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if tc.problems == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var n int
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				n = len(j.Unwrap())
			}
			if n != tc.problems {
				t.Fatalf("%d problems, want %d: %v", n, tc.problems, err)
			}
			if _, err := New(tc.cfg); !errors.Is(err, ErrInvalid) {
				t.Fatalf("New accepted an invalid config: %v", err)
			}
		})
	}
}

// TestNewConnectsToNothing: New succeeds for receivers that do not exist;
// the first Deliver fails.
func TestNewConnectsToNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	dir := t.TempDir()
	for _, cfg := range []Config{
		{Name: "s", Kind: KindSyslog, Address: addr},
		{Name: "w", Kind: KindWebhook, URL: "http://" + addr + "/", Secret: "0123456789abcdef", MaxFailures: 1, AllowPrivate: true},
		{Name: "f", Kind: KindFile, Path: filepath.Join(dir, "missing-dir", "x.jsonl")},
	} {
		o, err := New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Kind, err)
		}
		if o.Name() != cfg.Name {
			t.Fatalf("name %q, want %q", o.Name(), cfg.Name)
		}
		if err := o.Deliver(context.Background(), makeEvents(1)); err == nil {
			t.Fatalf("%s: delivered to nothing", cfg.Kind)
		}
		if st := o.(Reporter).Status(); st.Kind != cfg.Kind || st.ConsecutiveFailures != 1 || st.LastError == "" {
			t.Fatalf("%s: status %+v", cfg.Kind, st)
		}
		_ = o.Close()
	}
}

func TestConfigMissingCA(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Name: "s", Kind: KindSyslog, Address: "siem:6514", TLS: true, CA: filepath.Join(t.TempDir(), "nope.pem")})
	if err == nil {
		t.Fatal("New accepted a CA file that does not exist")
	}
}
