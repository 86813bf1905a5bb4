package output

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

// startRsyslog runs Debian's rsyslogd in the foreground with a TCP input
// on a free loopback port, writing each message's MSG as one line to the
// file it returns.
func startRsyslog(t *testing.T) (addr, out string) {
	t.Helper()
	rsyslogd := testenv.RequireTool(t, "rsyslogd")
	dir := t.TempDir()
	port := testenv.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	out = filepath.Join(dir, "messages")
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
module(load="imtcp")
template(name="msgonly" type="string" string="%%msg%%\n")
ruleset(name="decnet") { action(type="omfile" file=%q template="msgonly") }
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="decnet")
`, dir, out, port)
	cfg := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(rsyslogd, "-n", "-f", cfg, "-i", filepath.Join(dir, "pid"))
	testenv.StartDaemon(t, "rsyslogd", cmd, testenv.Dialable(addr))
	return addr, out
}

// TestCEFAndLEEFIntoRsyslog sends 10,000 events with hostile strings as
// CEF and as LEEF over syslog to the real rsyslogd and parses what it
// wrote: one line per event, every event id once, the headers intact.
func TestCEFAndLEEFIntoRsyslog(t *testing.T) {
	events := makeEvents(10000)
	for _, c := range []struct {
		format string
		head   *regexp.Regexp
		id     *regexp.Regexp
	}{
		{FormatCEF, regexp.MustCompile(`^CEF:0\|DECNET\|DECNET\|1\|ssh\.login\.failed\|[^|]*\|5\|`), regexp.MustCompile(`(?:^| )externalId=(\S+)`)},
		{FormatLEEF, regexp.MustCompile(`^LEEF:2\.0\|DECNET\|DECNET\|1\|ssh\.login\.failed\|\^\|`), regexp.MustCompile(`\^eventId=([^^]+)`)},
	} {
		t.Run(c.format, func(t *testing.T) {
			addr, out := startRsyslog(t)
			o, err := NewSyslog("siem", addr, SyslogOptions{Format: c.format})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			for i := 0; i < len(events); i += 250 {
				if err := o.Deliver(context.Background(), events[i:i+250]); err != nil {
					t.Fatal(err)
				}
			}
			var lines []string
			testenv.Eventually(t, 60*time.Second, "rsyslogd to write 10,000 lines", func() bool {
				b, _ := os.ReadFile(out)
				lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
				return len(lines) >= len(events)
			})
			if len(lines) != len(events) {
				t.Fatalf("%d lines for %d events: an event split or doubled", len(lines), len(events))
			}
			got := newIDSet()
			for _, l := range lines {
				if !c.head.MatchString(l) {
					t.Fatalf("not a %s line: %q", c.format, l)
				}
				m := c.id.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("no event id in %q", l)
				}
				got.add(m[1])
			}
			if n := got.missing(ids(events)); n != 0 || got.len() != len(events) {
				t.Fatalf("%d events missing, %d distinct ids", n, got.len())
			}
			t.Logf("%s: rsyslogd wrote %d lines, every event once; first: %.160s", c.format, len(lines), lines[0])
		})
	}
}
