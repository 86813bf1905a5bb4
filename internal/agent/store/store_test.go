package store

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

func openStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// rawRows reads every row through a database/sql connection of its own,
// as any SQLite client would, bypassing Store.
func rawRows(t *testing.T, path string) [][5]any {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT topology_id, applied_version_hash, hydrated_blob_json, applied_at, last_error
		FROM applied_topology ORDER BY topology_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][5]any
	for rows.Next() {
		var (
			id, hash, blob string
			at             int64
			lastErr        sql.NullString
		)
		if err := rows.Scan(&id, &hash, &blob, &at, &lastErr); err != nil {
			t.Fatal(err)
		}
		var le any
		if lastErr.Valid {
			le = lastErr.String
		}
		out = append(out, [5]any{id, hash, blob, at, le})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("blob %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("blob = %s, want %s", got, want)
	}
}

// TestStoreHasNoRestoreHook is the static guard of the agent contract: the
// store is a passive cache. If this fails, re-read the package comment:
// the agent never self-heals from its cache; the master decides.
func TestStoreHasNoRestoreHook(t *testing.T) {
	t.Parallel()
	forbidden := []string{"restore", "replay", "reapply", "rehydrate", "autorestore"}
	typ := reflect.TypeFor[*Store]()
	if typ.NumMethod() == 0 {
		t.Fatal("no exported methods found; the guard is looking at the wrong type")
	}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		norm := strings.ReplaceAll(strings.ToLower(name), "_", "")
		for _, f := range forbidden {
			if strings.Contains(norm, f) {
				t.Errorf("Store.%s: the topology store must stay a passive cache (no %s); the master decides what runs", name, f)
			}
		}
	}
}

// TestSeededStoreSurvivesRestartVerbatim: a row written by one process is
// read back unchanged by a raw SQLite client and by a second Store, and
// opening and reading the populated file changes none of its bytes. The
// master's "agent reports old hash, needs resync" path depends on this.
func TestSeededStoreSurvivesRestartVerbatim(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), FileName)
	const blob = `{"topology":{"id":"t-x"}}`

	// Process 1.
	s1, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_700_000_000, 0)
	if err := s1.Put("t-x", "h-x", json.RawMessage(blob), at); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	// Raw SQLite read.
	rows := rawRows(t, db)
	if len(rows) != 1 {
		t.Fatalf("raw read: %d rows, want 1", len(rows))
	}
	if rows[0][0] != "t-x" || rows[0][1] != "h-x" {
		t.Fatalf("raw read: id, hash = %v, %v; want t-x, h-x", rows[0][0], rows[0][1])
	}
	jsonEqual(t, []byte(rows[0][2].(string)), blob)

	// Process 2, same file.
	before := fileSum(t, db)
	s2, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s2.Current()
	if err != nil {
		t.Fatal(err)
	}
	if cur == nil {
		t.Fatal("Current() = nil after reopen")
	}
	if cur.TopologyID != "t-x" || cur.VersionHash != "h-x" {
		t.Fatalf("Current() = %q, %q; want t-x, h-x", cur.TopologyID, cur.VersionHash)
	}
	jsonEqual(t, cur.Blob, blob)
	if !cur.AppliedAt.Equal(at) || cur.LastError != "" {
		t.Fatalf("Current() AppliedAt, LastError = %v, %q; want %v, empty", cur.AppliedAt, cur.LastError, at)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if after := fileSum(t, db); after != before {
		t.Fatal("opening and reading a populated store changed the file")
	}
	if _, err := os.Stat(db + "-wal"); err == nil {
		t.Fatal("store left a WAL file; it must stay in rollback-journal mode")
	}
}

// TestReadsFileWrittenBySQLiteCLI: a file made by the sqlite3 client with
// the documented schema is read correctly and left byte-for-byte as it was.
func TestReadsFileWrittenBySQLiteCLI(t *testing.T) {
	t.Parallel()
	sqlite3 := testenv.RequireTool(t, "sqlite3")
	db := filepath.Join(t.TempDir(), FileName)
	script := schema + `;
INSERT INTO applied_topology VALUES ('t-cli', 'h-cli', '{"topology":{"id":"t-cli"}}', 1700000123, 'boom');
`
	cmd := exec.Command(sqlite3, db)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	before := fileSum(t, db)

	s, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.Current()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := &Applied{
		TopologyID:  "t-cli",
		VersionHash: "h-cli",
		Blob:        json.RawMessage(`{"topology":{"id":"t-cli"}}`),
		AppliedAt:   time.Unix(1700000123, 0).UTC(),
		LastError:   "boom",
	}
	if !reflect.DeepEqual(cur, want) {
		t.Fatalf("Current() = %+v, want %+v", cur, want)
	}
	if fileSum(t, db) != before {
		t.Fatal("Open+Current+Close changed a file written by sqlite3")
	}

	// And the other way round: sqlite3 reads what Store writes.
	s = openStore(t, db)
	if err := s.Put("t-go", "h-go", json.RawMessage(`{"a":1}`), time.Unix(1700000200, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sqlite3, db, "SELECT topology_id, applied_version_hash, hydrated_blob_json, applied_at, last_error IS NULL FROM applied_topology").CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), `t-go|h-go|{"a":1}|1700000200|1`; got != want {
		t.Fatalf("sqlite3 read %q, want %q", got, want)
	}
}

func TestNewFileHasExactSchema(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), FileName)
	openStore(t, db)
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode = %v, want 0600", perm)
	}
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT type, name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var typ, name, sqlText string
		if err := rows.Scan(&typ, &name, &sqlText); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s", typ, name, sqlText))
	}
	want := []string{
		"index sqlite_autoindex_applied_topology_1 ", // the PRIMARY KEY's implicit index
		// SQLite stores the statement without IF NOT EXISTS.
		"table applied_topology " + strings.Replace(schema, " IF NOT EXISTS", "", 1),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sqlite_master =\n%q\nwant\n%q", got, want)
	}
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "delete" {
		t.Errorf("journal_mode = %q, want delete", mode)
	}
}

func TestOpenRejectsForeignSchema(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), FileName)
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE applied_topology (topology_id TEXT PRIMARY KEY, something_else TEXT)`); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, db)
	if s, err := Open(db); err == nil {
		_ = s.Close()
		t.Fatal("Open accepted a table with other columns")
	}
	if fileSum(t, db) != before {
		t.Fatal("a refused Open changed the file")
	}
}

func TestCurrentEmpty(t *testing.T) {
	t.Parallel()
	s := openStore(t, filepath.Join(t.TempDir(), FileName))
	cur, err := s.Current()
	if err != nil || cur != nil {
		t.Fatalf("Current() on an empty store = %+v, %v; want nil, nil", cur, err)
	}
}

// step is one operation on a store in a scenario.
type step struct {
	put   *[3]string // id, hash, blob
	fail  *[3]string // id, blob, msg
	clear string
}

func put(id, hash, blob string) step { return step{put: &[3]string{id, hash, blob}} }
func fail(id, blob, msg string) step { return step{fail: &[3]string{id, blob, msg}} }
func clearStep(id string) step       { return step{clear: id} }
func row(id, hash, blob string, at int64, lastErr any) [5]any {
	return [5]any{id, hash, blob, at, lastErr}
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	const t0 = 1_700_000_000
	tests := []struct {
		name  string
		steps []step
		want  [][5]any // every row, ordered by topology id
		cur   *Applied
	}{
		{
			name:  "put replaces a predecessor",
			steps: []step{put("t-old", "h-old", `{"v":"old"}`), put("t-new", "h-new", `{"v":"new"}`)},
			want:  [][5]any{row("t-new", "h-new", `{"v":"new"}`, t0+1, nil)},
			cur:   &Applied{TopologyID: "t-new", VersionHash: "h-new", Blob: json.RawMessage(`{"v":"new"}`), AppliedAt: time.Unix(t0+1, 0).UTC()},
		},
		{
			name:  "put of the same id updates in place",
			steps: []step{put("t", "h1", `{"v":1}`), put("t", "h2", `{"v":2}`)},
			want:  [][5]any{row("t", "h2", `{"v":2}`, t0+1, nil)},
		},
		{
			name:  "record error clears the hash and stores the blob",
			steps: []step{put("t", "h-good", `{"v":"good"}`), fail("t", `{"v":"next"}`, "compose up: exit 1")},
			want:  [][5]any{row("t", "", `{"v":"next"}`, 0, "compose up: exit 1")},
			cur:   &Applied{TopologyID: "t", Blob: json.RawMessage(`{"v":"next"}`), LastError: "compose up: exit 1"},
		},
		{
			name:  "record error without a blob keeps the stored blob but not the hash",
			steps: []step{put("t", "h-good", `{"v":"good"}`), fail("t", "", "boom")},
			want:  [][5]any{row("t", "", `{"v":"good"}`, 0, "boom")},
		},
		{
			name:  "record error for a new id replaces the predecessor",
			steps: []step{put("t-old", "h-old", `{}`), fail("t-new", `{"v":"new"}`, "boom")},
			want:  [][5]any{row("t-new", "", `{"v":"new"}`, 0, "boom")},
		},
		{
			name:  "record error on an empty store without a blob stores {}",
			steps: []step{fail("t", "", "boom")},
			want:  [][5]any{row("t", "", `{}`, 0, "boom")},
		},
		{
			name:  "record error then put of the same id",
			steps: []step{fail("t", `{"v":1}`, "boom"), put("t", "h", `{"v":1}`)},
			want:  [][5]any{row("t", "h", `{"v":1}`, t0+1, nil)},
			cur:   &Applied{TopologyID: "t", VersionHash: "h", Blob: json.RawMessage(`{"v":1}`), AppliedAt: time.Unix(t0+1, 0).UTC()},
		},
		{
			name:  "clear deletes",
			steps: []step{put("t", "h", `{}`), clearStep("t")},
			want:  nil,
		},
		{
			name:  "clear is idempotent",
			steps: []step{put("t", "h", `{}`), clearStep("t"), clearStep("t"), clearStep("never-stored")},
			want:  nil,
		},
		{
			name:  "clear of another id keeps the row",
			steps: []step{put("t", "h", `{}`), clearStep("other")},
			want:  [][5]any{row("t", "h", `{}`, t0, nil)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), FileName)
			s := openStore(t, db)
			for i, st := range tc.steps {
				var err error
				switch {
				case st.put != nil:
					err = s.Put(st.put[0], st.put[1], json.RawMessage(st.put[2]), time.Unix(t0+int64(i), 0))
				case st.fail != nil:
					err = s.RecordError(st.fail[0], json.RawMessage(st.fail[1]), st.fail[2])
				default:
					err = s.Clear(st.clear)
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if got := rawRows(t, db); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rows = %v, want %v", got, tc.want)
			}
			cur, err := s.Current()
			if err != nil {
				t.Fatal(err)
			}
			if tc.cur != nil && !reflect.DeepEqual(cur, tc.cur) {
				t.Errorf("Current() = %+v, want %+v", cur, tc.cur)
			}
			if tc.want == nil && cur != nil {
				t.Errorf("Current() = %+v, want nil", cur)
			}
		})
	}
}

// TestCurrentIsDeterministicWithSeveralRows covers a file the store itself
// would never write (two rows): the latest applied_at wins, then the
// smallest id.
func TestCurrentIsDeterministicWithSeveralRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rows string
		want string
	}{
		{"latest applied wins", `('a', 'h', '{}', 10, NULL), ('b', 'h', '{}', 20, NULL)`, "b"},
		{"error marker loses to an applied row", `('a', '', '{}', 0, 'x'), ('b', 'h', '{}', 5, NULL)`, "b"},
		{"tie broken by id", `('b', 'h', '{}', 7, NULL), ('a', 'h', '{}', 7, NULL)`, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), FileName)
			raw, err := sql.Open("sqlite", db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(schema + `; INSERT INTO applied_topology VALUES ` + tc.rows); err != nil {
				t.Fatal(err)
			}
			if err := raw.Close(); err != nil {
				t.Fatal(err)
			}
			s := openStore(t, db)
			for range 3 {
				cur, err := s.Current()
				if err != nil {
					t.Fatal(err)
				}
				if cur.TopologyID != tc.want {
					t.Fatalf("Current() = %q, want %q", cur.TopologyID, tc.want)
				}
			}
		})
	}
}

func TestRecordErrorTruncatesAtRuneBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		msg     string
		wantLen int
	}{
		{"short", "boom", 4},
		{"exactly the limit", strings.Repeat("a", MaxErrorLen), MaxErrorLen},
		{"ascii over the limit", strings.Repeat("a", MaxErrorLen+10), MaxErrorLen},
		// 'é' is 2 bytes: 1999 'a' + 'é' would end at byte 2001.
		{"two-byte rune across the limit", strings.Repeat("a", MaxErrorLen-1) + "é", MaxErrorLen - 1},
		// '€' is 3 bytes: starts at 1998, ends at 2001.
		{"three-byte rune across the limit", strings.Repeat("a", MaxErrorLen-2) + "€€", MaxErrorLen - 2},
		{"four-byte runes", strings.Repeat("🙂", MaxErrorLen), MaxErrorLen},
	}
	s := openStore(t, filepath.Join(t.TempDir(), FileName))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.RecordError("t", nil, tc.msg); err != nil {
				t.Fatal(err)
			}
			cur, err := s.Current()
			if err != nil {
				t.Fatal(err)
			}
			if len(cur.LastError) != tc.wantLen {
				t.Errorf("len(LastError) = %d, want %d", len(cur.LastError), tc.wantLen)
			}
			if !strings.HasPrefix(tc.msg, cur.LastError) {
				t.Error("LastError is not a prefix of the message")
			}
			if !utf8Valid(cur.LastError) {
				t.Error("LastError is not valid UTF-8")
			}
		})
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestRejectsInvalidArguments(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), FileName)
	s := openStore(t, db)
	if err := s.Put("keep", "h", json.RawMessage(`{}`), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"put without id", func() error { return s.Put("", "h", json.RawMessage(`{}`), time.Now()) }},
		{"put without hash", func() error { return s.Put("t", "", json.RawMessage(`{}`), time.Now()) }},
		{"put with a non-JSON blob", func() error { return s.Put("t", "h", json.RawMessage(`{`), time.Now()) }},
		{"put with a nil blob", func() error { return s.Put("t", "h", nil, time.Now()) }},
		{"record error without id", func() error { return s.RecordError("", nil, "x") }},
		{"record error with a non-JSON blob", func() error { return s.RecordError("t", json.RawMessage(`nope`), "x") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	// A refused write deleted nothing.
	if got := rawRows(t, db); len(got) != 1 || got[0][0] != "keep" {
		t.Fatalf("rows after refused writes = %v", got)
	}
}

// TestTwoStoresOneFile: two handles on one file (as the agent API and its
// heartbeat may hold) see each other's writes and never leave two rows.
func TestTwoStoresOneFile(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), FileName)
	a, b := openStore(t, db), openStore(t, db)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w, s := range []*Store{a, b} {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("t-%d-%d", w, i%3)
				if i%5 == 4 {
					errs <- s.RecordError(id, nil, "boom")
				} else {
					errs <- s.Put(id, "h", json.RawMessage(`{}`), time.Now())
				}
				if _, err := s.Current(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := rawRows(t, db); len(got) != 1 {
		t.Fatalf("%d rows after concurrent writes, want 1: %v", len(got), got)
	}
	ca, err := a.Current()
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Current()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ca, cb) {
		t.Fatalf("two handles disagree: %+v vs %+v", ca, cb)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
	}{
		{"missing directory", filepath.Join(dir, "missing", FileName)},
		{"not a database", notDB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(tc.path)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}
