package event

import (
	"context"
	"errors"
	"os"
)

// artifactKeys are the fields that name a quarantined blob by its SHA-256:
// uploads and transcripts use "sha256", large HTTP bodies "body_sha256".
var artifactKeys = []string{"sha256", "body_sha256"}

// Artifacts returns the SHA-256 of every blob the event refers to, in
// lowercase hex. A field that is not 64 hex digits is ignored: it cannot
// name a quarantine file, whatever the event says.
func (e Event) Artifacts() []string {
	var out []string
	for _, k := range artifactKeys {
		s, _ := e.Fields[k].(string)
		if IsSHA256(s) {
			out = append(out, s)
		}
	}
	return out
}

// IsSHA256 reports whether s is a SHA-256 in lowercase hex.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// BlobSink receives the quarantined blobs that shipped events refer to. A
// shipper hands a blob over before the first event that names it, so the
// master never stores an event whose blob it cannot get.
type BlobSink interface {
	// PutBlob delivers the blob with the given hash, read from f (size
	// bytes). It returns nil once the blob is durable on the other side
	// (or was already there). An error matching ErrBlobRefused is
	// permanent: the shipper logs it and ships the events anyway.
	PutBlob(ctx context.Context, sha string, f *os.File, size int64) error
}

// ErrBlobRefused is matched by a BlobSink error that retrying cannot cure
// (the receiver refused the blob, e.g. its hash does not match).
var ErrBlobRefused = errors.New("blob refused")
