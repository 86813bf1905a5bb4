package mailbox

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The greeting waits as Dovecot's login process start does: 6.5 ms at
// least, a median near 8.2 ms, a tail capped at 40 ms.
func TestLoginSpawnDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 20000
	var sum float64
	lo, hi := time.Hour, time.Duration(0)
	for range n {
		d := loginSpawn(r.Float64)
		lo, hi = min(lo, d), max(hi, d)
		sum += d.Seconds()
	}
	mean := sum / n
	t.Logf("mean %.2f ms, range %v-%v", mean*1000, lo, hi)
	if math.Abs(mean*1000-8.5) > 0.1 || lo < 6500*time.Microsecond || hi > 40*time.Millisecond || hi-lo < 8*time.Millisecond {
		t.Fatalf("not Dovecot's spread: mean %.2f ms, range %v-%v", mean*1000, lo, hi)
	}
}
