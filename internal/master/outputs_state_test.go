package master

import (
	"testing"

	"github.com/decnet/decnet/internal/output"
)

func TestOutputState(t *testing.T) {
	for want, v := range map[string]OutputView{
		"disabled": {Enabled: false, Running: false},
		"paused":   {Enabled: true, Running: true, Status: output.Status{Disabled: true}},
		"failing":  {Enabled: true, Running: true, Status: output.Status{ConsecutiveFailures: 2}},
		"running":  {Enabled: true, Running: true},
		"stopped":  {Enabled: true},
	} {
		if got := stateOf(v); got != want {
			t.Errorf("%+v: state %q, want %q", v, got, want)
		}
	}
	if got := stateOf(OutputView{Enabled: true, Error: "bad CA file"}); got != "failing" {
		t.Errorf("an output that cannot start: %q", got)
	}
}
