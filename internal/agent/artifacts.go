package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/decnet/decnet/internal/agent/shipper"
)

// BlobUploader sends quarantined blobs to the master over the agent's
// mutual-TLS channel (PUT /agent/v1/artifacts/{sha256}); it is the
// shipper's event.BlobSink. The master checks the hash before it keeps a
// blob, so a host can only ever add content under its true name.
type BlobUploader struct {
	base   string
	client *http.Client
}

// NewBlobUploader returns an uploader to the master of en, through client
// (which carries the agent's certificate).
func NewBlobUploader(en *Enrollment, client *http.Client) *BlobUploader {
	return &BlobUploader{base: "https://" + en.Master + "/agent/v1/artifacts/", client: client}
}

// PutBlob asks whether the master has the blob and uploads it otherwise.
func (u *BlobUploader) PutBlob(ctx context.Context, sha string, f *os.File, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.base+sha, nil)
	if err != nil {
		return err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, u.base+sha, io.NopCloser(f))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = u.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests &&
		resp.StatusCode != http.StatusRequestTimeout:
		return fmt.Errorf("%w: master answered %s: %s", shipper.ErrBlobRefused, resp.Status, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("master answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
}
