package elasticsearch

import (
	"fmt"
	"testing"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/serve"
)

// Left unset, the cluster name is not always Elasticsearch's default
// (which Elasticpot answers and detectors flag) but one of the names
// operators give, stable per decky.
func TestDefaultClusterNameVaries(t *testing.T) {
	seen := map[string]bool{}
	for i := range 40 {
		s, err := New(serve.Env{Identity: persona.NewIdentity("seed", fmt.Sprint("es-", i))})
		if err != nil {
			t.Fatal(err)
		}
		seen[s.(*Server).clusterName] = true
	}
	if len(seen) < 4 {
		t.Fatalf("40 deckies share %d cluster names: %v", len(seen), seen)
	}
}
