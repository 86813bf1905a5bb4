package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/driver/host"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// BenchmarkHostDriverFleet applies DECNET_BENCH_DECKIES deckies (default
// 1,000), each with the six first services (ssh, http, ftp, telnet,
// redis, mysql) on its own loopback address, through the host driver in
// this process, as an agent with --driver host does; it times the apply
// and the moment every port of every decky answers (a connection, and the
// banner of the services that speak first), and reports the memory the
// fleet added to the process per decky. The reference is the original's:
// 1 + 6 containers per decky, each service a Python process of 24-26 MiB
// (../shared/reference), so 144-156 MiB per decky.
func BenchmarkHostDriverFleet(b *testing.B) {
	testenv.RequireLowPorts(b)
	n := envInt("DECNET_BENCH_DECKIES", 1000)
	base := 100 + rand.IntN(100)
	var spec strings.Builder
	fmt.Fprintf(&spec, "name: fleet\nseed: 00112233445566778899aabbccddee%02x\nlans: [{name: lo, subnet: 127.%d.0.0/16, dmz: true}]\ndeckies:\n", base, base)
	addr := func(i int) string { return fmt.Sprintf("127.%d.%d.%d", base, 1+i/250, 1+i%250) }
	for i := range n {
		fmt.Fprintf(&spec, "  - {name: d%04d, persona: {os: linux, distro: debian}, addresses: [{lan: lo, ip: %s}], services: [ssh, http, ftp, telnet, redis, mysql]}\n", i, addr(i))
	}
	sp, err := topology.DecodeBytes([]byte(spec.String()))
	if err != nil {
		b.Fatal(err)
	}
	sp.ID = "fleet-" + testenv.RunID()
	d := host.New(b.TempDir(), nil)
	b.Cleanup(func() { d.Teardown(context.Background()) })
	before := selfPssKiB()
	start := time.Now()
	if err := d.Apply(context.Background(), sp, nil); err != nil {
		b.Fatal(err)
	}
	applied := time.Since(start)
	// Every port answers: 64 checkers, each port tried until it does or
	// the 10-minute budget is spent.
	ports := []struct {
		port   int
		speaks bool
	}{{22, true}, {80, false}, {21, true}, {23, true}, {6379, false}, {3306, true}}
	type target struct {
		addr   string
		speaks bool
	}
	work := make(chan target)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for t := range work {
				for !answersOn(t.addr, t.speaks) {
					if time.Since(start) > 10*time.Minute {
						failed.Add(1)
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	for i := range n {
		for _, p := range ports {
			work <- target{net.JoinHostPort(addr(i), strconv.Itoa(p.port)), p.speaks}
		}
	}
	close(work)
	wg.Wait()
	ready := time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d ports never answered", f, n*len(ports))
	}
	time.Sleep(2 * time.Second)
	per := float64(selfPssKiB()-before) / float64(n) / 1024
	fmt.Printf("host driver: %d deckies with 6 services applied in %s; all %d ports answering %s after the apply began (target 60 s: %.2f)\n",
		n, applied.Round(time.Millisecond), n*len(ports), ready.Round(time.Millisecond), ready.Seconds()/60)
	fmt.Printf("host driver: %.2f MiB per decky in one process, against the original's 6 x 24-26 MiB = 144-156 MiB per decky: %.3f\n", per, per/150)
}

// answersOn connects to target and, for a service that speaks first,
// reads its first byte.
func answersOn(target string, speaks bool) bool {
	c, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	if !speaks {
		return true
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	return err == nil
}

// selfPssKiB is this process's proportional set size.
func selfPssKiB() int64 { return smapsKiB("self", "Pss:") }
