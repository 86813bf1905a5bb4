package bench

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// BenchmarkDeckyDensity runs deckies with the six first services (ssh,
// http, ftp, telnet, redis, mysql) idle, one process each as both
// drivers run them, and reports their memory: the proportional set size
// (pages shared between deckies, the binary's, divided among them) and
// the private anonymous memory, per decky, for 1 and for 10 deckies.
// The reference is the original's: one container per service, each a
// Python process of 24-26 MiB (../shared/reference).
func BenchmarkDeckyDensity(b *testing.B) {
	base := 100 + rand.IntN(100)
	for _, n := range []int{1, 10} {
		var pids []int
		for i := range n {
			ip := fmt.Sprintf("127.%d.%d.5", base, i)
			cmd := startDecky(b, ip, "ssh, http, ftp, telnet, redis, mysql", "")
			waitListen(b, net.JoinHostPort(ip, "22"))
			pids = append(pids, cmd.Process.Pid)
		}
		time.Sleep(2 * time.Second)
		var pss, anon int64
		for _, p := range pids {
			pss += rssKiB(p)
			anon += anonKiB(p)
		}
		fmt.Printf("density: %2d idle deckies with 6 services: %.1f MiB per decky (%.1f MiB private), against the original's 6 x 24-26 MiB = 144-156 MiB: %.3f\n",
			n, float64(pss)/float64(n)/1024, float64(anon)/float64(n)/1024, float64(pss)/float64(n)/1024/150)
		for _, p := range pids {
			killPid(p)
		}
		base++
	}
}
