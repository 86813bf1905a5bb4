package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
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

// imageContext is the decky build context: the binary and a Dockerfile
// that copies it into an empty image running as an unprivileged user.
func imageContext(bin []byte) (io.Reader, error) {
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY decnet /decnet\nUSER %d:%d\nENTRYPOINT [\"/decnet\"]\n", DeckyUID, DeckyUID)
	return buildContext([]contextFile{{"Dockerfile", 0o644, []byte(dockerfile)}, {"decnet", 0o755, bin}})
}

// contextFile is one file of a build context.
type contextFile struct {
	name string
	mode int64
	data []byte
}

// buildContext is a tar of files, as the engine's build API takes it.
func buildContext(files []contextFile) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
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

// ServerImageOptions configures BuildServerImage.
type ServerImageOptions struct {
	// Binary is the static decnet binary to put in the image.
	Binary string
	// Tag names the image (decnet:1.2.3).
	Tag string
	// CABundle is a PEM file of CA roots copied to
	// /etc/ssl/certs/ca-certificates.crt, for https webhooks and an
	// external NATS or PostgreSQL over TLS; "" leaves it out.
	CABundle string
	// Labels are added to the image's own.
	Labels map[string]string
}

// BuildServerImage builds the image that runs `decnet master` or `decnet
// agent` (the command is the container's arguments): FROM scratch, the
// binary, CA roots, /tmp, and volumes for the data directories. It needs
// no registry; the engine is the one DOCKER_HOST names.
func BuildServerImage(ctx context.Context, o ServerImageOptions) error {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return fmt.Errorf("read the binary: %w", err)
	}
	dockerfile := "FROM scratch\nCOPY decnet /usr/bin/decnet\nCOPY tmp /tmp\n"
	files := []contextFile{{"decnet", 0o755, bin}}
	if o.CABundle != "" {
		ca, err := os.ReadFile(o.CABundle)
		if err != nil {
			return fmt.Errorf("read the CA bundle: %w", err)
		}
		files = append(files, contextFile{"ca-certificates.crt", 0o644, ca})
		dockerfile += "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
	}
	dockerfile += "ENV DECNET_MASTER_DATA=/var/lib/decnet/master DECNET_AGENT_DIR=/var/lib/decnet/agent\n" +
		"VOLUME [\"/var/lib/decnet\"]\nEXPOSE 8443 7946 4222\nENTRYPOINT [\"/usr/bin/decnet\"]\nCMD [\"--help\"]\n"
	files = append(files, contextFile{"Dockerfile", 0o644, []byte(dockerfile)}, contextFile{"tmp/.keep", 0o644, nil})
	buildCtx, err := buildContext(files)
	if err != nil {
		return err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("engine client: %w", err)
	}
	defer cli.Close()
	labels := map[string]string{"io.decnet.image": "server", "org.opencontainers.image.title": "decnet"}
	for k, v := range o.Labels {
		labels[k] = v
	}
	resp, err := cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{Tags: []string{o.Tag}, Remove: true, ForceRemove: true,
		PullParent: false, Labels: labels})
	if err != nil {
		return fmt.Errorf("build image %s: %w", o.Tag, err)
	}
	defer resp.Body.Close()
	if err := readBuildStream(resp.Body); err != nil {
		return fmt.Errorf("build image %s: %w", o.Tag, err)
	}
	return nil
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

// StaticBinary reports whether the ELF file at path ("" for the running
// binary) has no dynamic loader, which a FROM-scratch image needs.
func StaticBinary(path string) bool {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return false
		}
		path = exe
	}
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}
