// Package store is the agent's passive topology cache: the one topology
// the master last asked this agent to apply, its version hash, the
// hydrated blob it was applied from, and the error of the last failed
// attempt.
//
// The cache is a record, not a plan. Master is authoritative and the agent
// is a dumb executor: a restarted agent reports what this store holds (in
// GET /topology/state and its heartbeats) and waits for the master to
// decide. The store therefore has no restore, replay, reapply, rehydrate
// or auto-restore operation, and a test fails if one is added.
//
// On disk it is SQLite at <agent dir>/topology.db with exactly one table,
//
//	applied_topology (topology_id TEXT PRIMARY KEY,
//	                  applied_version_hash TEXT NOT NULL,
//	                  hydrated_blob_json TEXT NOT NULL,
//	                  applied_at INTEGER NOT NULL,
//	                  last_error TEXT)
//
// readable by any SQLite client. applied_at is in Unix seconds; 0 marks a
// row written by RecordError, whose applied_version_hash is empty. The file
// stays in the default rollback-journal mode and Open sets no persistent
// pragma, so opening a populated store changes nothing in it, byte for
// byte, and a second process opening the same file sees the same row.
//
// An agent has at most one applied topology: Put and RecordError delete
// the rows of every other topology id in the same transaction that writes
// their own row (the agent tears a predecessor down before it applies a
// successor).
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"
	"unicode/utf8"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the store's file name inside the agent directory.
const FileName = "topology.db"

// MaxErrorLen is the longest last_error RecordError stores, in bytes.
// Longer messages are cut at a UTF-8 boundary.
const MaxErrorLen = 2000

// busyTimeout bounds how long a statement waits for another process's lock.
const busyTimeout = 5 * time.Second

const schema = `CREATE TABLE IF NOT EXISTS applied_topology (topology_id TEXT PRIMARY KEY, applied_version_hash TEXT NOT NULL, hydrated_blob_json TEXT NOT NULL, applied_at INTEGER NOT NULL, last_error TEXT)`

var columns = []string{"applied_at", "applied_version_hash", "hydrated_blob_json", "last_error", "topology_id"}

// ErrInvalid is returned for arguments the store refuses to write.
var ErrInvalid = errors.New("invalid argument")

// Applied is the cached record of the topology applied on this agent, or
// of the last failed attempt to apply it.
type Applied struct {
	TopologyID string
	// VersionHash is the hash of the applied version; it is empty after a
	// failed apply, so that a failure never looks converged to the master.
	VersionHash string
	// Blob is the hydrated topology as the master sent it.
	Blob json.RawMessage
	// AppliedAt is when the topology was applied, to the second; zero
	// after a failed apply (applied_at = 0).
	AppliedAt time.Time
	// LastError is the error of the last failed apply; empty after a
	// successful one.
	LastError string
}

// Store is an open topology cache. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens the store at path (normally <agent dir>/topology.db),
// creating the file (mode 0600) and the table when missing. The directory
// must exist. Opening an existing store reads its schema and writes
// nothing: no journal-mode change, no migration, no cleanup of rows.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open topology store %s: %w", path, err)
	}
	// Create a missing file ourselves so it is private from the start;
	// SQLite accepts an empty file as an empty database.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("open topology store %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("open topology store %s: %w", path, err)
	}

	dsn := url.URL{
		Scheme: "file",
		Path:   filepath.ToSlash(abs),
		RawQuery: url.Values{
			"_pragma": {fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())},
			"_txlock": {"immediate"},
		}.Encode(),
	}
	db, err := sql.Open("sqlite", dsn.String())
	if err != nil {
		return nil, fmt.Errorf("open topology store %s: %w", path, err)
	}
	// One connection: writes serialise in process, and there is only
	// ever one handle on the file per Store.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path}
	if err := s.init(context.Background()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open topology store %s: %w", path, err)
	}
	return s, nil
}

// init creates the table when it does not exist and otherwise only checks
// its columns, so that opening a populated store is read-only.
func (s *Store) init(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info('applied_topology')`)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	var have []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			_ = rows.Close()
			return fmt.Errorf("read schema: %w", err)
		}
		have = append(have, name)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if len(have) == 0 {
		if _, err := s.db.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("create table: %w", err)
		}
		return nil
	}
	slices.Sort(have)
	if !slices.Equal(have, columns) {
		return fmt.Errorf("table applied_topology has columns %v, want %v", have, columns)
	}
	return nil
}

// Close closes the store's database handle.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close topology store %s: %w", s.path, err)
	}
	return nil
}

// Current returns the cached topology, or nil and no error when the store
// is empty. Should the file (written by something else) hold several rows,
// the most recently applied one wins, ties broken by topology id.
func (s *Store) Current() (*Applied, error) {
	var (
		a       Applied
		blob    string
		at      int64
		lastErr sql.NullString
	)
	err := s.db.QueryRowContext(context.Background(), `SELECT topology_id, applied_version_hash, hydrated_blob_json, applied_at, last_error
		FROM applied_topology ORDER BY applied_at DESC, topology_id LIMIT 1`).
		Scan(&a.TopologyID, &a.VersionHash, &blob, &at, &lastErr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read applied topology: %w", err)
	}
	a.Blob = json.RawMessage(blob)
	if at != 0 {
		a.AppliedAt = time.Unix(at, 0).UTC()
	}
	a.LastError = lastErr.String
	return &a, nil
}

// Put records that topology id at version hash was applied from blob at
// time at (stored to the second; the zero time means now). In one
// transaction it deletes the rows of every other topology id and writes
// this one with no last error.
func (s *Store) Put(id, hash string, blob json.RawMessage, at time.Time) error {
	if id == "" || hash == "" {
		return fmt.Errorf("put applied topology %q: %w: empty topology id or version hash", id, ErrInvalid)
	}
	if !json.Valid(blob) {
		return fmt.Errorf("put applied topology %s: %w: blob is not JSON", id, ErrInvalid)
	}
	if at.IsZero() {
		at = time.Now()
	}
	err := s.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM applied_topology WHERE topology_id <> ?`, id); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO applied_topology (topology_id, applied_version_hash, hydrated_blob_json, applied_at, last_error)
			VALUES (?, ?, ?, ?, NULL)
			ON CONFLICT (topology_id) DO UPDATE SET
				applied_version_hash = excluded.applied_version_hash,
				hydrated_blob_json = excluded.hydrated_blob_json,
				applied_at = excluded.applied_at,
				last_error = NULL`,
			id, hash, string(blob), at.Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("put applied topology %s: %w", id, err)
	}
	return nil
}

// RecordError records that applying topology id failed with msg, cut to
// MaxErrorLen bytes. In one transaction it deletes the rows of every other
// topology id and writes this one with an empty version hash and
// applied_at 0. The hash is cleared on purpose: after a failed apply,
// even a re-apply of the version that was running, the agent cannot claim
// to run that version, so the master must not see it as converged.
//
// blob is stored when given; when empty, the row keeps the blob it had,
// or gets "{}" when there was none.
func (s *Store) RecordError(id string, blob json.RawMessage, msg string) error {
	if id == "" {
		return fmt.Errorf("record apply error: %w: empty topology id", ErrInvalid)
	}
	var newBlob any // NULL: keep the stored blob
	if len(blob) > 0 {
		if !json.Valid(blob) {
			return fmt.Errorf("record apply error of %s: %w: blob is not JSON", id, ErrInvalid)
		}
		newBlob = string(blob)
	}
	msg = truncateUTF8(msg, MaxErrorLen)
	err := s.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM applied_topology WHERE topology_id <> ?`, id); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO applied_topology (topology_id, applied_version_hash, hydrated_blob_json, applied_at, last_error)
			VALUES (?1, '', COALESCE(?2, '{}'), 0, ?3)
			ON CONFLICT (topology_id) DO UPDATE SET
				applied_version_hash = '',
				hydrated_blob_json = COALESCE(?2, applied_topology.hydrated_blob_json),
				applied_at = 0,
				last_error = excluded.last_error`,
			id, newBlob, msg)
		return err
	})
	if err != nil {
		return fmt.Errorf("record apply error of %s: %w", id, err)
	}
	return nil
}

// Clear deletes the row of topology id, after a teardown. Clearing an id
// that is not stored is not an error.
func (s *Store) Clear(id string) error {
	if _, err := s.db.ExecContext(context.Background(), `DELETE FROM applied_topology WHERE topology_id = ?`, id); err != nil {
		return fmt.Errorf("clear applied topology %s: %w", id, err)
	}
	return nil
}

// tx runs fn in a transaction (BEGIN IMMEDIATE) and commits it, or rolls
// it back when fn fails.
func (s *Store) tx(fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a multi-byte
// UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
