package dns_test

import (
	"encoding/binary"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	_ "github.com/decnet/decnet/internal/service/dns"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func dig(t *testing.T, r *servicetest.Running, args ...string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "dig")
	base := []string{"@" + r.Addr.String(), "-p", r.Port(53), "+time=3", "+tries=1"}
	out, _ := exec.Command(bin, append(base, args...)...).CombinedOutput()
	return string(out)
}

func TestDig(t *testing.T) {
	r := servicetest.Start(t, "dns", 53, servicetest.Options{Config: map[string]any{"domain": "acme-corp.com"}})
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"version", []string{"version.bind", "CH", "TXT"}, []string{`version.bind.		0	CH	TXT	"9.18.49-1~deb12u3-Debian"`, "flags: qr aa rd;", "status: NOERROR"}},
		{"soa", []string{"acme-corp.com", "SOA"}, []string{"status: NOERROR", "flags: qr aa rd;", "IN	SOA	ns1.acme-corp.com. hostmaster.acme-corp.com.", "COOKIE:"}},
		{"mx tcp", []string{"+tcp", "acme-corp.com", "MX"}, []string{"MX	10 mail.acme-corp.com.", "mail.acme-corp.com.", "EDE: 18 (Prohibited)"}},
		{"nxdomain", []string{"nope.acme-corp.com", "A"}, []string{"status: NXDOMAIN", "AUTHORITY: 1", "SOA"}},
		{"refused", []string{"www.google.com", "A"}, []string{"status: REFUSED", "flags: qr rd;", "EDE: 18 (Prohibited)"}},
		{"axfr", []string{"acme-corp.com", "AXFR"}, []string{"; Transfer failed."}},
		{"any udp is minimal", []string{"+notcp", "acme-corp.com", "ANY"}, []string{"ANSWER: 1,", "IN	SOA"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := dig(t, r, tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("dig %v lacks %q:\n%s", tc.args, w, out)
				}
			}
		})
	}
	for _, want := range []func(event.Event) bool{
		func(e event.Event) bool {
			return e.Type == "dns.version.probe" && e.Fields["qname"] == "version.bind" && e.Fields["answer"] == "9.18.49-1~deb12u3-Debian"
		},
		func(e event.Event) bool {
			return e.Type == "dns.zone.transfer" && e.Fields["outcome"] == "refused" && e.Transport == "tcp" && e.Fields["qtype"] == "AXFR"
		},
		func(e event.Event) bool {
			return e.Type == "dns.query.received" && e.Fields["qname"] == "nope.acme-corp.com." && e.Fields["rcode"] == "NXDOMAIN" &&
				e.Fields["qtype"] == "A" && e.Fields["rd"] == true && e.Fields["edns"] == true && e.Transport == "udp"
		},
	} {
		if _, ok := r.Events.Wait(3*time.Second, want); !ok {
			t.Errorf("missing event; got %+v", r.Events.Events())
		}
	}
}

func TestAXFRAllowed(t *testing.T) {
	r := servicetest.Start(t, "dns", 53, servicetest.Options{Config: map[string]any{"domain": "acme-corp.com", "axfr": "allow",
		"extra_records": []any{"backup01 A 10.9.8.7", "_secret TXT \"db password in vault\""}}})
	out := dig(t, r, "acme-corp.com", "AXFR")
	for _, w := range []string{"acme-corp.com.		", "IN	SOA	ns1.acme-corp.com.", "backup01.acme-corp.com.", `"db password in vault"`, "XFR size:"} {
		if !strings.Contains(out, w) {
			t.Errorf("AXFR lacks %q:\n%s", w, out)
		}
	}
	if _, ok := r.Events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "dns.zone.transfer" && e.Fields["outcome"] == "served" && e.Outcome == "success"
	}); !ok {
		t.Errorf("no served transfer event: %+v", r.Events.Events())
	}
}

func TestSettingsRefuseForwarding(t *testing.T) {
	for _, cfg := range []map[string]any{{"real_recursive": true}, {"upstream": "8.8.8.8:53"}, {"extra_records": []any{"x BOGUS y"}}} {
		info, _ := service.Lookup("dns")
		if _, err := info.Decode(cfg); err == nil {
			t.Errorf("settings %v accepted", cfg)
		}
	}
}

// TestANYFloodNeverAmplifies floods ANY queries from one source: past
// the rate limit no answer may be larger than its query.
func TestANYFloodNeverAmplifies(t *testing.T) {
	r := servicetest.Start(t, "dns", 53, servicetest.Options{Config: map[string]any{"domain": "acme-corp.com"}})
	c, err := net.Dial("udp", r.HostPort(53))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := []byte{0, 0, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range []string{"acme-corp", "com"} {
		q = append(append(q, byte(len(l))), l...)
	}
	q = append(q, 0, 0, 255, 0, 1)
	const n = 1500
	buf := make([]byte, 65535)
	var full, slipped int
	start := time.Now()
	for i := range n {
		binary.BigEndian.PutUint16(q, uint16(i))
		c.Write(q)
		c.SetReadDeadline(time.Now().Add(time.Second))
		m, err := c.Read(buf)
		if err != nil {
			continue
		}
		switch {
		case buf[2]&0x02 != 0: // TC: the RRL slip
			slipped++
			if m > len(q) {
				t.Fatalf("a truncated answer of %d bytes to a query of %d", m, len(q))
			}
		case m > len(q):
			full++
		}
	}
	// Full answers are the burst plus what the rate earned meanwhile;
	// the rest are no larger than the query.
	elapsed := time.Since(start).Seconds()
	if allowed := 200 + int(50*elapsed) + 1; full > allowed {
		t.Errorf("%d answers larger than their query in %.2fs, the limit allows %d", full, elapsed, allowed)
	}
	if slipped == 0 {
		t.Errorf("no truncated answers in a flood of %d (%d full)", n, full)
	}
	if _, ok := r.Events.Wait(3*time.Second, event.OfType("dns.rate.limited")); !ok {
		t.Error("no dns.rate.limited event")
	}
}

// FuzzUDP sends datagrams to a running decky: no handler may panic.
func FuzzUDP(f *testing.F) {
	r := servicetest.Start(f, "dns", 53, servicetest.Options{Config: map[string]any{"domain": "acme-corp.com"}})
	servicetest.FuzzPacket(f, r, 53,
		[]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03"),
		[]byte("\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01\x09acme-corp\x03com\x00\x00\xfc\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x0c\x00\x0a\x00\x08abcdefgh"),
		[]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
}

func TestRecursiveModeSinkholes(t *testing.T) {
	r := servicetest.Start(t, "dns", 53, servicetest.Options{Config: map[string]any{"domain": "acme-corp.com", "zone_mode": "recursive"}})
	out := dig(t, r, "updates.example.net", "A")
	for _, w := range []string{"status: NOERROR", "flags: qr rd ra;", "updates.example.net.	300	IN	A"} {
		if !strings.Contains(out, w) {
			t.Errorf("recursive mode lacks %q:\n%s", w, out)
		}
	}
}
