package host

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/decnet/decnet/internal/driver/drivertest"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// TestConformance runs the driver suite on the host driver: deckies in
// process on loopback LANs. They share the host's stack, so the suite
// checks addresses, labels, idempotence and teardown, not MACs.
func TestConformance(t *testing.T) {
	a := 20 + rand.IntN(200)
	drivertest.Run(t, drivertest.Harness{
		Driver: New(t.TempDir(), testenv.Logger(t, 0)),
		ID:     testenv.RunID(),
		LAN: func(t *testing.T, name string, kind topology.Driver, dmz bool) topology.LAN {
			if kind != topology.Bridge {
				t.Skipf("SKIP: the host driver has no %s LANs", kind)
			}
			n := map[string]int{"dmz": 1, "inner": 2, "office": 3}[name]
			return topology.LAN{Name: name, Subnet: fmt.Sprintf("127.%d.%d.0/24", a, n), Driver: kind, DMZ: dmz}
		},
	})
}
