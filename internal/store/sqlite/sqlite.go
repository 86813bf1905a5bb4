// Package sqlite is the embedded store.Store: one database file in WAL
// mode through modernc.org/sqlite (no cgo).
//
// Writes go through a pool of exactly one connection whose transactions
// begin IMMEDIATE, so writers queue in Go instead of failing with
// SQLITE_BUSY; reads use a separate pool of query-only connections that
// WAL lets run beside the writer. busy_timeout covers other processes
// opening the same file. Migrations are embedded and run at Open, each in
// its own transaction.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store. Every method is safe for concurrent use.
type Store struct {
	w, r      *sql.DB // the single writer, the readers
	ckpt      *sql.DB // the checkpointer's connection
	insert    *sql.Stmt
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store/sqlite: open %q: need a file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: open %s: %w", path, err)
	}
	dsn := func(pragmas []string, extra string) string {
		q := url.Values{"_pragma": pragmas}
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode() + extra}
		return u.String()
	}
	// synchronous=NORMAL in WAL mode: a commit is not fsynced, so an OS
	// crash or power loss (not a process crash) can lose the last commits;
	// the bus redelivers what the ingester had not acknowledged, and only
	// batches acknowledged in the last moments before the loss are gone
	// (docs/architecture.md). The page cache holds the indexes' hot pages.
	common := []string{"busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)", "cache_size(-65536)", "temp_store(MEMORY)"}
	// Checkpoints run beside the writer (checkpointLoop); the automatic
	// one, in the committing writer's path, is only a bound on the WAL.
	w, err := sql.Open("sqlite", dsn(append([]string{"journal_mode(WAL)", "wal_autocheckpoint(16384)"}, common...), "&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrateUp(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(append([]string{"query_only(1)"}, common...), ""))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", path, err)
	}
	ckpt, err := sql.Open("sqlite", dsn(common, ""))
	if err == nil {
		ckpt.SetMaxOpenConns(1)
		err = ckpt.PingContext(ctx)
	}
	var ins *sql.Stmt
	if err == nil {
		ins, err = w.PrepareContext(ctx, fullChunkSQL)
	}
	if err != nil {
		w.Close()
		r.Close()
		if ckpt != nil {
			ckpt.Close()
		}
		return nil, fmt.Errorf("store/sqlite: open %s: %w", path, err)
	}
	s := &Store{w: w, r: r, ckpt: ckpt, insert: ins, stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.checkpointLoop()
	return s, nil
}

// checkpointEvery is how often WAL frames are copied back into the
// database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointLoop copies committed WAL frames into the database file from
// its own connection, so the writer's commits do not pay for it (a
// PASSIVE checkpoint takes no lock that writers or readers wait for).
func (s *Store) checkpointLoop() {
	defer close(s.stopped)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// Close closes both pools; later calls return the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.stopped
		s.closeErr = errors.Join(s.insert.Close(), s.ckpt.Close(), s.r.Close(), s.w.Close())
	})
	return s.closeErr
}

// Ping checks that the database answers a query, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func migrateUp(ctx context.Context, db *sql.DB) error {
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			// The IMMEDIATE transaction holds the write lock, so another
			// process migrating the same file waits here and then sees
			// the version recorded.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, micro(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// inTx runs fn in a transaction of db (IMMEDIATE on the writer) and commits
// it, or rolls it back when fn fails.
func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(ctx, s.w, fn)
}

// micro is the column value of a time; the zero time is stored as 0.
func micro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicro(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func fromNullMicro(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// one checks that a write touched a row: ErrNotFound otherwise.
func one(res sql.Result, err error) error {
	n, err := affected(res, err)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store/sqlite: %s: %w", op, err)
}
