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
		d := pamDelay(pamFailDelay, r.Float64)
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

// OpenSSH 7.8 and later answer a failed password at the user's floor
// doubled past PAM's delay: every reply for one user is one of a few
// values a power of two apart, as the real sshd's bimodal 2.1/4.2 s.
func TestMinimumFailTimeQuantises(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	floor := userFloor(0x1234abcd, "nosuchuser")
	if floor < 5*time.Millisecond || floor > 9300*time.Microsecond {
		t.Fatalf("floor %v outside 5-9.3 ms", floor)
	}
	if userFloor(0x1234abcd, "nosuchuser") != floor || userFloor(0x1234abcd, "root") == floor {
		t.Fatal("the floor is not a function of the secret and the user")
	}
	seen := map[time.Duration]int{}
	for range 5000 {
		pam := pamDelay(pamFailDelay, r.Float64)
		d := minimumFailTime(pam, floor)
		if d < pam || d >= 2*pam+floor {
			t.Fatalf("%v for PAM's %v", d, pam)
		}
		seen[d]++
	}
	if len(seen) < 2 || len(seen) > 3 {
		t.Fatalf("replies at %d distinct times, want 2-3: %v", len(seen), seen)
	}
	for d := range seen {
		if k := float64(d) / float64(floor); k != math.Exp2(math.Round(math.Log2(k))) {
			t.Fatalf("%v is not the floor %v times a power of two", d, floor)
		}
	}
	t.Logf("floor %v, replies %v", floor, seen)
}

func TestDropbearDelay(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 1000 {
		if d := dropbearDelay(r.Float64); d < 250*time.Millisecond || d > 350*time.Millisecond {
			t.Fatalf("%v outside Dropbear's 250-350 ms", d)
		}
	}
}
