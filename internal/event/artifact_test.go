package event

import (
	"strings"
	"testing"
)

func TestArtifactsIgnoresWhatIsNotAHash(t *testing.T) {
	h := strings.Repeat("0f", 32)
	e := Event{Fields: map[string]any{"sha256": h, "body_sha256": strings.ToUpper(h), "other": h}}
	if got := e.Artifacts(); len(got) != 1 || got[0] != h {
		t.Fatalf("Artifacts() = %v", got)
	}
}
