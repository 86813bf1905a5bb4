package ftp

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// TestBaitServed: a bait file is in the tree where the plan put it,
// readable anonymously under /pub, and its download is an event naming
// it (what links a later use of its credential to the read).
func TestBaitServed(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	files := []bait.File{{Place: bait.FTP, Path: "/srv/ftp/pub/IT/vpn-setup.txt", Mode: 0o644, Owner: "ftp", Age: 48 * time.Hour,
		Content: []byte("Server: vpn01\nUser: contractor\nPassword: Harbor42#qz\n")}}
	r := servicetest.Start(t, "ftp", 21, servicetest.Options{Config: map[string]any{"anonymous": true}, Bait: files})
	out, err := exec.Command(curl, "-sS", "--max-time", "20", "--user", "anonymous:guest@example.com", "ftp://"+r.HostPort(21)+"/pub/IT/vpn-setup.txt").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Password: Harbor42#qz") {
		t.Fatalf("curl: %v %s", err, out)
	}
	if _, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		p, _ := e.Fields["path"].(string)
		return strings.Contains(p, "vpn-setup.txt")
	}); !ok {
		t.Fatalf("no event names the bait file: %v", r.Events.Events())
	}
}

// TestDropsServed: a file the operator drops into the running decky is
// listed and served at the next command, and goes when withdrawn.
func TestDropsServed(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	live := serve.NewLive()
	r := servicetest.Start(t, "ftp", 21, servicetest.Options{Config: map[string]any{"anonymous": true}, Live: live})
	list := func() string {
		out, _ := exec.Command(curl, "-sS", "--max-time", "20", "--user", "anonymous:guest@example.com", "ftp://"+r.HostPort(21)+"/pub/").CombinedOutput()
		return string(out)
	}
	if strings.Contains(list(), "payroll.csv") {
		t.Fatal("listed before the drop")
	}
	live.Set(nil, []bait.File{{Place: bait.FTP, Path: "/srv/ftp/pub/payroll.csv", Mode: 0o644, Owner: "ftp", Content: []byte("name,iban\n")}})
	if l := list(); !strings.Contains(l, "payroll.csv") {
		t.Fatalf("the dropped file is not listed: %s", l)
	}
	out, err := exec.Command(curl, "-sS", "--max-time", "20", "--user", "anonymous:guest@example.com", "ftp://"+r.HostPort(21)+"/pub/payroll.csv").CombinedOutput()
	if err != nil || string(out) != "name,iban\n" {
		t.Fatalf("curl: %v %q", err, out)
	}
	live.Set(nil, nil)
	if strings.Contains(list(), "payroll.csv") {
		t.Fatal("still listed after the withdrawal")
	}
}
