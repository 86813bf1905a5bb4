package event

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// blobRecorder is a BlobSink that keeps what it got, and fails while err
// is set.
type blobRecorder struct {
	got map[string]string
	err error
	// published is read when a blob arrives: no event may be out yet.
	published *int
}

func (b *blobRecorder) PutBlob(_ context.Context, sha string, f *os.File, size int64) error {
	if b.err != nil {
		return b.err
	}
	if *b.published != 0 {
		return errors.New("blob arrived after its event")
	}
	data, err := io.ReadAll(f)
	if err != nil || int64(len(data)) != size {
		return errors.New("short read")
	}
	b.got[sha] = string(data)
	return nil
}

type countingPub struct{ n int }

func (c *countingPub) Publish(_ context.Context, ev []Event) error { c.n += len(ev); return nil }

func TestShipperShipsBlobsBeforeTheirEvents(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "topo", "decky")
	sp, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	q := NewQuarantine(filepath.Join(dir, "quarantine"), 1<<20)
	up, err := q.Put(strings.NewReader("#!/bin/sh\necho pwned\n"))
	if err != nil {
		t.Fatal(err)
	}
	missing := strings.Repeat("ab", 32) // named but never stored
	for i, f := range []map[string]any{
		{"sha256": up.SHA256, "path": "/tmp/x.sh"},
		{"body_sha256": missing},
		{"sha256": "../../etc/passwd"}, // not a hash: never opened
		{"sha256": up.SHA256},          // same blob again
	} {
		e := testEvent(i, "u")
		e.Fields = f
		if err := sp.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	sp.sync()

	pub := &countingPub{}
	sink := &blobRecorder{got: map[string]string{}, err: errors.New("master unreachable"), published: &pub.n}
	sh, err := NewShipper(root, filepath.Join(t.TempDir(), "cursor"), "h", pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	sh.Blobs = sink
	// While blobs cannot be delivered, no event is published either.
	if n, err := sh.ShipOnce(context.Background()); err == nil || n != 0 || pub.n != 0 {
		t.Fatalf("shipped %d events (%d published) with the blob sink down: %v", n, pub.n, err)
	}
	if _, err := os.Stat(q.Path(up.SHA256)); err != nil {
		t.Fatalf("blob gone before delivery: %v", err)
	}
	sink.err = nil
	if n, err := sh.ShipOnce(context.Background()); err != nil || n != 4 {
		t.Fatalf("shipped %d: %v", n, err)
	}
	if len(sink.got) != 1 || sink.got[up.SHA256] != "#!/bin/sh\necho pwned\n" {
		t.Fatalf("blobs delivered: %v", sink.got)
	}
	// Delivered and acknowledged: the quarantine copy is gone.
	if _, err := os.Stat(q.Path(up.SHA256)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("shipped blob left on the agent: %v", err)
	}

	// A refused blob does not hold its events back.
	bad, _ := q.Put(strings.NewReader("corrupted"))
	e := testEvent(9, "u")
	e.Fields = map[string]any{"sha256": bad.SHA256}
	sp.Write(e)
	sp.sync()
	sink.err = ErrBlobRefused
	pub.n = 0
	if n, err := sh.ShipOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("refused blob: shipped %d: %v", n, err)
	}
}

func TestArtifactsIgnoresWhatIsNotAHash(t *testing.T) {
	h := strings.Repeat("0f", 32)
	e := Event{Fields: map[string]any{"sha256": h, "body_sha256": strings.ToUpper(h), "other": h}}
	if got := e.Artifacts(); len(got) != 1 || got[0] != h {
		t.Fatalf("Artifacts() = %v", got)
	}
}
