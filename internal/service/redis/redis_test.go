package redis_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/redis"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func cli(t *testing.T, bin, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(bin, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestRedisCLI(t *testing.T) {
	bin := testenv.RequireTool(t, "redis-cli")
	cases := []struct {
		name, distro, version string
	}{
		{"debian", "debian", "7.0.15"},
		{"ubuntu22", "ubuntu22", "6.0.16"},
		{"rocky9", "rocky9", "6.2.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := servicetest.Start(t, "redis", 6379, servicetest.Options{Distro: tc.distro})
			addr := r.HostPort(6379)
			if got := cli(t, bin, addr, "PING"); got != "PONG" {
				t.Errorf("PING = %q", got)
			}
			info := cli(t, bin, addr, "INFO", "server")
			if !strings.Contains(info, "redis_version:"+tc.version+"\r\n") && !strings.Contains(info, "redis_version:"+tc.version+"\n") {
				t.Errorf("INFO server lacks version %s:\n%s", tc.version, info)
			}
			if !strings.Contains(info, "os:Linux "+r.Env.Persona.Distro.Kernel+" x86_64") {
				t.Errorf("INFO server lacks the persona kernel:\n%s", info)
			}
			if strings.Contains(info, "# Clients") {
				t.Errorf("INFO server shows other sections")
			}
			if got := cli(t, bin, addr, "SET", "k1", "hello world"); got != "OK" {
				t.Errorf("SET = %q", got)
			}
			if got := cli(t, bin, addr, "GET", "k1"); got != "hello world" {
				t.Errorf("GET = %q", got)
			}
			if got := cli(t, bin, addr, "CONFIG", "SET", "dir", "/var/spool/cron/crontabs"); got != "OK" {
				t.Errorf("CONFIG SET dir = %q", got)
			}
			if got := cli(t, bin, addr, "CONFIG", "GET", "dir"); got != "dir\n/var/spool/cron/crontabs" {
				t.Errorf("CONFIG GET dir = %q", got)
			}
			if got := cli(t, bin, addr, "AUTH", "s3cret"); !strings.Contains(got, "AUTH <password> called without any password configured") {
				t.Errorf("AUTH = %q", got)
			}
			if got := cli(t, bin, addr, "FOO", "a", "b"); !strings.Contains(got, "unknown command") {
				t.Errorf("FOO = %q", got)
			}
			if got := cli(t, bin, addr, "SAVE"); got != "OK" {
				t.Errorf("SAVE = %q", got)
			}

			e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
				return e.Type == "redis.command.input" && e.Fields["command"] == "config"
			})
			if !ok {
				t.Fatal("no redis.command.input for CONFIG")
			}
			if args, _ := e.Fields["args"].([]string); len(args) != 3 || args[2] != "/var/spool/cron/crontabs" {
				t.Errorf("CONFIG event args = %v", e.Fields["args"])
			}
			e, ok = r.Events.Wait(5*time.Second, event.OfType("redis.login.failed"))
			if !ok || e.Credential == nil || e.Credential.SecretText != "s3cret" || e.Credential.Kind != "plaintext" {
				t.Errorf("login event = %+v", e)
			}
			e, ok = r.Events.Wait(5*time.Second, event.OfType("redis.file.upload"))
			if !ok || e.Fields["target"] != "crontab" || e.Fields["sha256"] == nil {
				t.Fatalf("file upload event = %+v", e)
			}
			if b, err := os.ReadFile(filepath.Join(r.QuarDir, e.Fields["sha256"].(string))); err != nil || !strings.Contains(string(b), "hello world") {
				t.Errorf("quarantined payload %q, %v", b, err)
			}
		})
	}
}

func TestQuitAndErrors(t *testing.T) {
	t.Parallel()
	r := servicetest.Start(t, "redis", 6379, servicetest.Options{Distro: "debian"})
	cases := []struct {
		name, send, want string
	}{
		{"quit", "QUIT\r\n", "+OK\r\n"},
		{"unknown", "*3\r\n$3\r\nfoo\r\n$1\r\na\r\n$1\r\nb\r\n", "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"},
		{"arity", "GET\r\n", "-ERR wrong number of arguments for 'get' command\r\n"},
		{"quotes", "SET \"a\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"bulk", "*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"big bulk", "*1\r\n$99999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"dollar", "*1\r\nx\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n"},
		{"module", "MODULE LOAD /tmp/exp.so\r\n", "-ERR Error loading the extension. Please check the server logs.\r\n"},
		{"slaveof", "SLAVEOF 203.0.113.9 21000\r\n", "+OK\r\n"},
		{"select", "SELECT 16\r\n", "-ERR DB index is out of range\r\n"},
		{"ttl", "TTL nokey\r\n", ":-2\r\n"},
		{"type", "TYPE nokey\r\n", "+none\r\n"},
		{"wrongpass", "AUTH bob x\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", r.HostPort(6379))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(tc.send)); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(tc.want))
			if _, err := readFull(bufio.NewReader(c), got); err != nil {
				t.Fatalf("read: %v (got %q)", err, got)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "redis.exploit.attempt" && e.Fields["master_host"] == "203.0.113.9"
	}); !ok {
		t.Error("no exploit event for SLAVEOF")
	}
}

func readFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestRequirePass(t *testing.T) {
	bin := testenv.RequireTool(t, "redis-cli")
	t.Parallel()
	r := servicetest.Start(t, "redis", 6379, servicetest.Options{Distro: "debian", Config: map[string]any{"password": "foobared"}})
	addr := r.HostPort(6379)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"noauth", []string{"GET", "x"}, "NOAUTH Authentication required."},
		{"wrong", []string{"AUTH", "nope"}, "WRONGPASS invalid username-password pair or user is disabled."},
		{"right", []string{"--no-auth-warning", "-a", "foobared", "PING"}, "PONG"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := cli(t, bin, addr, tc.args...); !strings.Contains(got, tc.want) {
				t.Errorf("%v = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
	if e, ok := r.Events.Wait(5*time.Second, event.OfType("redis.login.success")); !ok || e.Credential.SecretText != "foobared" {
		t.Errorf("no login.success: %+v", e)
	}
}
