package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
)

// DeckyUID is the unprivileged user the decky process runs as.
const DeckyUID = 10001

var imageMu sync.Mutex

// deckyImage returns the tag of the decky image for the configured binary,
// building it when the engine does not have it. The tag carries the
// binary's digest, so a new binary gets a new image and the deckies are
// replaced on the next apply.
func (d *Driver) deckyImage(ctx context.Context) (string, error) {
	imageMu.Lock()
	defer imageMu.Unlock()
	bin, err := os.ReadFile(d.opts.Binary)
	if err != nil {
		return "", fmt.Errorf("read decky binary: %w", err)
	}
	sum := sha256.Sum256(bin)
	tag := d.opts.ImageRepo + ":" + hex.EncodeToString(sum[:])[:16]
	if _, err := d.cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect image %s: %w", tag, err)
	}
	d.log.Info("building decky image", "image", tag)
	buildCtx, err := imageContext(bin)
	if err != nil {
		return "", err
	}
	resp, err := d.cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, PullParent: false,
		Labels: map[string]string{"io.decnet.image": "decky"},
	})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := readBuildStream(resp.Body); err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	return tag, nil
}

// imageContext is the build context: the binary and a Dockerfile that
// copies it into an empty image running as an unprivileged user.
func imageContext(bin []byte) (io.Reader, error) {
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY decnet /decnet\nUSER %d:%d\nENTRYPOINT [\"/decnet\"]\n", DeckyUID, DeckyUID)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"decnet", 0o755, bin}}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// readBuildStream drains the engine's JSON build log and returns the
// first error it reports.
func readBuildStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
