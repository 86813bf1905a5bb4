package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// QuarantineDir is where a decky's quarantine lives inside its spool
// directory; the shipper finds blobs there.
const QuarantineDir = "quarantine"

// Quarantine stores files attackers upload or make a decky fetch,
// content-addressed: a blob is named by its SHA-256, never by the name the
// attacker chose, and is never executable.
type Quarantine struct {
	dir string
	max int64
}

// NewQuarantine stores blobs under dir, each cut at max bytes.
func NewQuarantine(dir string, max int64) *Quarantine { return &Quarantine{dir: dir, max: max} }

// Artifact is what Put stored.
type Artifact struct {
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Truncated bool   `json:"truncated"`
}

// Put reads r to its end (or the cap) and stores the bytes. The bytes past
// the cap are read and discarded so the protocol stays in step, and the
// artifact is marked truncated.
func (q *Quarantine) Put(r io.Reader) (Artifact, error) {
	if err := os.MkdirAll(q.dir, 0o750); err != nil {
		return Artifact{}, fmt.Errorf("quarantine: %w", err)
	}
	tmp, err := os.CreateTemp(q.dir, ".incoming-*")
	if err != nil {
		return Artifact{}, fmt.Errorf("quarantine: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, q.max))
	if err != nil {
		tmp.Close()
		return Artifact{}, fmt.Errorf("quarantine: %w", err)
	}
	extra, _ := io.Copy(io.Discard, r)
	if err := tmp.Close(); err != nil {
		return Artifact{}, fmt.Errorf("quarantine: %w", err)
	}
	a := Artifact{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n + extra, Truncated: extra > 0}
	final := filepath.Join(q.dir, a.SHA256)
	if _, err := os.Stat(final); errors.Is(err, os.ErrNotExist) {
		if err := os.Chmod(tmp.Name(), 0o440); err != nil {
			return a, fmt.Errorf("quarantine: %w", err)
		}
		if err := os.Rename(tmp.Name(), final); err != nil {
			return a, fmt.Errorf("quarantine: %w", err)
		}
	}
	return a, nil
}

// Path returns where the blob with the given hash is stored.
func (q *Quarantine) Path(sha string) string { return filepath.Join(q.dir, sha) }
