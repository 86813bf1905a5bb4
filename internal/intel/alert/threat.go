package alert

import (
	"strconv"

	"github.com/decnet/decnet/internal/event"
)

// Threat levels, lowest first.
var levels = []string{"none", "low", "elevated", "high", "critical"}

// RaiseAt is the number of active alerts at which the level goes one step
// above what their highest severity says.
const RaiseAt = 10

// ThreatLevel is the fleet's threat level, derived from the active (open
// or acknowledged) alerts.
type ThreatLevel struct {
	// Level is none, low, elevated, high or critical.
	Level string `json:"level"`
	// Active counts the active alerts; BySeverity splits them by
	// severity ("0" info to "4" critical).
	Active     int64            `json:"active_alerts"`
	BySeverity map[string]int64 `json:"by_severity"`
	// MaxSeverity is the highest severity among them (-1 when none).
	MaxSeverity int    `json:"max_severity"`
	Reason      string `json:"reason"`
}

// Level derives the threat level from the active alerts by severity: none
// without alerts; otherwise low (highest severity info or low), elevated
// (medium), high or critical, one step higher (up to critical) when
// RaiseAt or more alerts are active.
func Level(counts map[int]int64) ThreatLevel {
	t := ThreatLevel{BySeverity: map[string]int64{}, MaxSeverity: -1}
	for sev, n := range counts {
		if n <= 0 {
			continue
		}
		t.Active += n
		t.BySeverity[strconv.Itoa(sev)] = n
		t.MaxSeverity = max(t.MaxSeverity, sev)
	}
	if t.Active == 0 {
		t.Level, t.Reason = levels[0], "no active alerts"
		return t
	}
	var step int
	switch {
	case t.MaxSeverity <= event.Low:
		step = 1
	case t.MaxSeverity == event.Medium:
		step = 2
	case t.MaxSeverity == event.High:
		step = 3
	default:
		step = 4
	}
	t.Reason = "highest severity of the active alerts: " + strconv.Itoa(t.MaxSeverity)
	if t.Active >= RaiseAt && step < len(levels)-1 {
		step++
		t.Reason += "; " + strconv.FormatInt(t.Active, 10) + " alerts active (raised one step)"
	}
	t.Level = levels[step]
	return t
}
