package serve

import (
	"math"
	"time"
)

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
