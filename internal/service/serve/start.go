package serve

import (
	"context"
	"math"
	"time"
)

// Sleep waits d, or less when ctx ends; it reports whether d passed. The
// delays a product takes (PAM's, a process start, an exit) are waited this
// way, never by blocking a connection past its shutdown.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ProcessStart is how long a daemon that starts a process for every
// connection (sshd's re-exec, inetd's fork and exec, Dovecot's login
// process) takes to send its first byte: a floor, then a tail of k
// exponential steps of mean step (gamma(k)), capped at ceiling. A service
// that answers within the same tenth of a millisecond every time is what
// timing detectors (potsnitch's uniform_timing) look for; each caller
// gives the figures measured on the real daemon.
func ProcessStart(floor, step time.Duration, k int, ceiling time.Duration, uniform func() float64) time.Duration {
	var tail float64
	for range k {
		tail -= math.Log(1 - uniform())
	}
	return min(floor+time.Duration(tail*float64(step)), ceiling)
}
