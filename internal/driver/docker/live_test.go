package docker

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// TestDockerLiveControls: on Docker, a tarpit reaches the running decky
// through its live file without replacing its container, and slows its
// HTTP port (curl gets a trickle by its deadline) while its SSH port
// answers at once; a change of services (what a rotation pushes)
// replaces the container with the same MAC and hostname, and the live
// controls follow it.
func TestDockerLiveControls(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	h := newHarness(t)
	a, b := 200+rand.IntN(50), rand.IntN(250)
	ip := fmt.Sprintf("10.%d.%d.10", a, b)
	spec := &topology.Spec{ID: "live-" + h.id, Name: "live", Seed: "00112233445566778899aabbccddeeff",
		LANs: []topology.LAN{{Name: "dmz", Subnet: fmt.Sprintf("10.%d.%d.0/24", a, b), Driver: topology.Bridge, DMZ: true}},
		Deckies: []topology.Decky{{Name: "web", Persona: topology.Persona{OS: "linux", Distro: "debian"},
			Addresses: []topology.Address{{LAN: "dmz", IP: ip}}, Services: []string{"http", "ssh"}}}}
	h.apply(spec)
	fetch := func() int {
		out, _ := exec.Command(curl, "-s", "-i", "--max-time", "3", "http://"+ip+"/").Output()
		return len(out)
	}
	var full int
	testenv.Eventually(t, 60*time.Second, "the decky's HTTP", func() bool { full = fetch(); return full > 200 })
	before := h.containers()["web"]
	mac := func() (string, string) {
		info, err := h.cli.ContainerInspect(context.Background(), h.containers()["web"].ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range info.NetworkSettings.Networks {
			return n.MacAddress, info.Config.Hostname
		}
		return "", info.Config.Hostname
	}
	mac0, host0 := mac()

	spec.Deckies[0].Live = &topology.Live{Tarpits: []topology.Tarpit{{Port: 80, Rate: 64}}}
	h.apply(spec)
	if after := h.containers()["web"]; after.ID != before.ID {
		t.Fatal("a tarpit replaced the decky's container")
	}
	var slow int
	testenv.Eventually(t, 30*time.Second, "the tarpit in the container", func() bool { slow = fetch(); return slow > 0 && slow < full })
	start := time.Now()
	c, err := net.DialTimeout("tcp", ip+":22", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	banner, _ := io.ReadAll(io.LimitReader(c, 8))
	c.Close()
	t.Logf("tarpitted http: %d of %d bytes in 3 s; ssh on the same decky: %q in %v", slow, full, banner, time.Since(start).Round(time.Millisecond))
	if string(banner) != "SSH-2.0-" {
		t.Fatalf("the untarpitted SSH port answered %q", banner)
	}

	spec.Deckies[0].Services = []string{"http", "ftp"}
	h.apply(spec)
	if h.containers()["web"].ID == before.ID {
		t.Fatal("a change of services did not replace the container")
	}
	mac1, host1 := mac()
	t.Logf("MAC %s -> %s, hostname %s -> %s", mac0, mac1, host0, host1)
	if mac1 != mac0 || host1 != host0 || mac0 == "" {
		t.Fatal("the rotated decky's MAC or hostname changed")
	}
	testenv.Eventually(t, 60*time.Second, "the tarpit after the replacement", func() bool {
		n := fetch()
		return n > 0 && n < full
	})
	spec.Deckies[0].Live = nil
	h.apply(spec)
	testenv.Eventually(t, 30*time.Second, "the tarpit lifted", func() bool { return fetch() == full })
	if strings.Contains(fmt.Sprint(h.containers()["web"].Labels), "tarpit") {
		t.Fatal("live controls leaked into the container's labels")
	}
}
