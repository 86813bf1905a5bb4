package docker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// TestDockerCloakNmap deploys one decky per OS family with the Docker
// driver and runs nmap -O from the host against each through the LAN's
// bridge: nmap's best guess must be the persona's family. The Windows,
// FreeBSD and Cisco deckies get a cloak container in their namespace; the
// Linux one runs as the kernel is.
func TestDockerCloakNmap(t *testing.T) {
	h := newHarness(t)
	testenv.RequireRoot(t)
	nmap := testenv.RequireTool(t, "nmap")
	a, b := 150+rand.IntN(50), rand.IntN(250)
	ip := func(n int) string { return fmt.Sprintf("10.%d.%d.%d", a, b, n) }
	want := map[string]string{"ws": "Microsoft Windows", "dc": "Microsoft Windows", "bsd": "FreeBSD", "rtr": "Cisco", "web": "Linux"}
	spec := &topology.Spec{ID: "ck-" + h.id, Name: "ck", Seed: "cc",
		LANs: []topology.LAN{{Name: "dmz", Subnet: ip(0) + "/24", Driver: topology.Bridge, DMZ: true}},
		Deckies: []topology.Decky{
			{Name: "ws", Persona: topology.Persona{OS: "windows", Distro: "win10"}, Addresses: []topology.Address{{LAN: "dmz", IP: ip(10)}}, Services: []string{"http"}},
			{Name: "dc", Persona: topology.Persona{OS: "windows_server", Distro: "win2019"}, Addresses: []topology.Address{{LAN: "dmz", IP: ip(11)}}, Services: []string{"http"}},
			{Name: "bsd", Persona: topology.Persona{OS: "bsd", Distro: "freebsd14"}, Addresses: []topology.Address{{LAN: "dmz", IP: ip(12)}}, Services: []string{"http"}},
			{Name: "rtr", Persona: topology.Persona{OS: "cisco", Distro: "ios15"}, Addresses: []topology.Address{{LAN: "dmz", IP: ip(13)}}, Services: []string{"http"}},
			{Name: "web", Persona: topology.Persona{OS: "linux", Distro: "debian"}, Addresses: []topology.Address{{LAN: "dmz", IP: ip(14)}}, Services: []string{"http"}},
		}}
	h.apply(spec)
	cloaks := h.cloaks()
	for _, dk := range spec.Deckies {
		_, has := cloaks[dk.Name]
		if has != (dk.Persona.OS != "linux") {
			t.Errorf("%s (%s): cloak container %v", dk.Name, dk.Persona.OS, has)
		}
	}
	// The heartbeat's observed state carries each cloak's state.
	obs, err := h.drv.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, od := range obs.Deckies {
		if want := map[bool]string{true: "", false: "running"}[od.Name == "web"]; od.Cloak != want {
			t.Errorf("observed %s: cloak %q, want %q", od.Name, od.Cloak, want)
		}
	}
	for _, dk := range spec.Deckies {
		addr := dk.Addresses[0].IP
		testenv.Eventually(t, 30*time.Second, "the decky's port 80", testenv.Dialable(addr+":80"))
		out, err := exec.Command(nmap, "-O", "--osscan-guess", "-n", "-Pn", "-p", "22,80,443", addr).CombinedOutput()
		if err != nil {
			t.Fatalf("nmap: %v\n%s", err, out)
		}
		top, acc := testenv.NmapTopOSGuess(string(out))
		t.Logf("nmap -O on %s (%s): %q (%s)", dk.Name, dk.Persona.OS, top, acc)
		if !strings.Contains(top, want[dk.Name]) {
			t.Errorf("%s: nmap's top guess %q, want %q\n%s", dk.Name, top, want[dk.Name], out)
		}
	}
}
