package postgres_test

import (
	"os"
	"sync"
	"testing"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/postgres"
	"github.com/decnet/decnet/internal/store/storetest"
	"github.com/decnet/decnet/internal/testenv"
)

// dsn returns DECNET_TEST_POSTGRES, or skips (fails under
// DECNET_REQUIRE_TOOLS=1, as in CI) when it is unset.
func dsn(t testing.TB) string {
	t.Helper()
	v := os.Getenv("DECNET_TEST_POSTGRES")
	if v == "" {
		msg := "DECNET_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:55432/decnet_test?sslmode=disable)"
		if os.Getenv("DECNET_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s (required because DECNET_REQUIRE_TOOLS=1)", msg)
		}
		t.Skipf("SKIP: %s (set DECNET_REQUIRE_TOOLS=1 to make this a failure)", msg)
	}
	return v
}

// freshSchema creates an empty schema, dropped in t.Cleanup, and returns a
// DSN whose search_path is that schema.
func freshSchema(t testing.TB, base string) string { return testenv.PostgresSchema(t, base) }

// opener opens a store on a schema per test; a second call with the same
// test reopens the same schema.
func opener(base string) storetest.Opener {
	var mu sync.Mutex
	dsns := map[*testing.T]string{}
	return func(t *testing.T) store.Store {
		t.Helper()
		mu.Lock()
		d, ok := dsns[t]
		if !ok {
			d = freshSchema(t, base)
			dsns[t] = d
		}
		mu.Unlock()
		s, err := postgres.Open(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener(dsn(t)))
}

// TestConcurrentOpen starts several masters on one empty schema at once:
// the advisory lock lets exactly one run each migration.
func TestConcurrentOpen(t *testing.T) {
	d := freshSchema(t, dsn(t))
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(t.Context(), d)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkInsertEvents(b *testing.B) {
	s, err := postgres.Open(b.Context(), freshSchema(b, dsn(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkInsertEvents(b, s)
}
