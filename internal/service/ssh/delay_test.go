package ssh

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The failed-password delay follows PAM's: mean 2 s, within 1-3 s, spread
// base/6 (333 ms), not a flat jitter a timing probe could tell apart.
func TestPAMDelayDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	var sum, sq float64
	lo, hi := time.Hour, time.Duration(0)
	for range n {
		d := pamDelay(failDelay, r.Float64)
		lo, hi = min(lo, d), max(hi, d)
		s := d.Seconds()
		sum += s
		sq += s * s
	}
	mean := sum / n
	sd := math.Sqrt(sq/n - mean*mean)
	t.Logf("mean %.3f s, sd %.3f s, range %v-%v", mean, sd, lo.Round(time.Millisecond), hi.Round(time.Millisecond))
	if math.Abs(mean-2) > 0.02 || math.Abs(sd-1.0/3) > 0.02 || lo < time.Second || hi > 3*time.Second {
		t.Fatalf("not PAM's distribution: mean %.3f, sd %.3f, range %v-%v", mean, sd, lo, hi)
	}
}

// The banner waits as sshd's fork and re-exec do: 7.3 ms at least, mean
// about 9.8 ms, an exponential tail capped at 40 ms.
func TestExecDelayDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 20000
	var sum float64
	lo, hi := time.Hour, time.Duration(0)
	for range n {
		d := execDelay(r.Float64)
		lo, hi = min(lo, d), max(hi, d)
		sum += d.Seconds()
	}
	mean := sum / n
	t.Logf("mean %.2f ms, range %v-%v", mean*1000, lo, hi)
	if math.Abs(mean*1000-9.8) > 0.2 || lo < 7300*time.Microsecond || hi > 40*time.Millisecond || hi-lo < 10*time.Millisecond {
		t.Fatalf("not sshd's spread: mean %.2f ms, range %v-%v", mean*1000, lo, hi)
	}
}
