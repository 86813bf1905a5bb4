package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/postgres"
	"github.com/decnet/decnet/internal/store/storetest"
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
func freshSchema(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "decnet_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatalf("connect to DECNET_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("DECNET_TEST_POSTGRES must be a postgres:// URL: %q", base)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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
