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
	"syscall"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

// rsyslog is Debian's rsyslogd in the foreground on a free loopback port
// (TCP, or RELP through imrelp), writing each message's MSG as one line to
// out.
type rsyslog struct {
	addr, out, conf, dir string
	cmd                  *exec.Cmd
}

func startRsyslog(t *testing.T) (addr, out string) {
	r := newRsyslog(t, "imtcp")
	return r.addr, r.out
}

func newRsyslog(t *testing.T, input string) *rsyslog {
	t.Helper()
	testenv.RequireTool(t, "rsyslogd")
	dir := t.TempDir()
	port := testenv.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	r := &rsyslog{dir: dir, out: filepath.Join(dir, "messages"), conf: filepath.Join(dir, "rsyslog.conf"),
		addr: fmt.Sprintf("127.0.0.1:%d", port)}
	listen := fmt.Sprintf(`input(type="imtcp" address="127.0.0.1" port="%d" ruleset="decnet")`, port)
	if input == "imrelp" {
		listen = fmt.Sprintf(`input(type="imrelp" address="127.0.0.1" port="%d" ruleset="decnet")`, port)
	}
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
module(load=%q)
template(name="msgonly" type="string" string="%%msg%%\n")
ruleset(name="decnet") { action(type="omfile" file=%q template="msgonly") }
%s
`, dir, input, r.out, listen)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	return r
}

func (r *rsyslog) start(t *testing.T) {
	t.Helper()
	rsyslogd := testenv.RequireTool(t, "rsyslogd")
	r.cmd = exec.Command(rsyslogd, "-n", "-f", r.conf, "-i", filepath.Join(r.dir, "pid"))
	testenv.StartDaemon(t, "rsyslogd", r.cmd, testenv.Dialable(r.addr))
}

// stop stops rsyslogd as its service would (SIGTERM) and waits for it.
func (r *rsyslog) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	for i := 0; i < 100 && syscall.Kill(r.cmd.Process.Pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

// ids returns the distinct CEF event ids written so far and how many lines
// carried one.
func (r *rsyslog) ids(t *testing.T) (*idSet, int) {
	b, _ := os.ReadFile(r.out)
	got := newIDSet()
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if m := cefID.FindStringSubmatch(l); m != nil {
			got.add(m[1])
			n++
		}
	}
	return got, n
}

var cefID = regexp.MustCompile(`(?:^| )externalId=(\S+)`)

// TestRELPIntoRsyslogAcrossRestarts sends 10,000 CEF events over RELP to
// Debian's rsyslogd (imrelp), stopping rsyslogd mid-burst and restarting
// the output: rsyslogd writes every event exactly once.
func TestRELPIntoRsyslogAcrossRestarts(t *testing.T) {
	r := newRsyslog(t, "imrelp")
	want := burstThrough(t, func() Output {
		o, err := NewSyslog("relp", r.addr, SyslogOptions{Format: FormatCEF, RELP: true, Attempts: 1000,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}, func(down bool) {
		if down {
			r.stop()
		} else {
			r.start(t)
		}
	}, func() int { got, _ := r.ids(t); return got.len() })
	got, lines := r.ids(t)
	if n := got.missing(want); n != 0 || lines != len(want) {
		t.Fatalf("%d events missing, %d lines for %d events", n, lines, len(want))
	}
	t.Logf("RELP: rsyslogd wrote %d lines, every event once, across its restart and the output's", lines)
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
