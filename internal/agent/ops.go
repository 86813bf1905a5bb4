package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/decnet/decnet/internal/wire"
)

// Operation ids are UUIDv7 strings made by the master: their text order is
// their time order, so "stale" is a plain comparison.

// ErrDuplicateOp and ErrStaleOp refuse an operation id already seen or
// older than the last one accepted.
var (
	ErrDuplicateOp = errors.New("duplicate operation id")
	ErrStaleOp     = errors.New("stale operation id")
	ErrBusy        = errors.New("another operation is running")
)

// opLog persists the last accepted operation id and recent outcomes in
// <dir>/operations.json (written atomically, only when an operation is
// accepted or finishes; never at start-up).
type opLog struct {
	path string

	mu      sync.Mutex
	Last    string          `json:"last_operation_id"`
	Running string          `json:"-"`
	Recent  []wire.OpResult `json:"finished"`
}

const keepFinished = 50

func loadOpLog(dir string) (*opLog, error) {
	l := &opLog{path: filepath.Join(dir, "operations.json")}
	data, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read operation log: %w", err)
	}
	if err := json.Unmarshal(data, l); err != nil {
		return nil, fmt.Errorf("parse operation log %s: %w", l.path, err)
	}
	return l, nil
}

// begin accepts op if it is newer than every accepted one and nothing runs.
func (l *opLog) begin(op string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case op == l.Last:
		return ErrDuplicateOp
	case op < l.Last:
		return fmt.Errorf("%w: %s is older than %s", ErrStaleOp, op, l.Last)
	case l.Running != "":
		return fmt.Errorf("%w: %s", ErrBusy, l.Running)
	}
	l.Last, l.Running = op, op
	return l.saveLocked()
}

func (l *opLog) finish(f wire.OpResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Running = ""
	l.Recent = append(l.Recent, f)
	if len(l.Recent) > keepFinished {
		l.Recent = l.Recent[len(l.Recent)-keepFinished:]
	}
	_ = l.saveLocked() // the outcome is also in the response; a lost write costs only the outbox copy
}

func (l *opLog) snapshot() []wire.OpResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]wire.OpResult(nil), l.Recent...)
}

func (l *opLog) saveLocked() error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write operation log: %w", err)
	}
	return os.Rename(tmp, l.path)
}
