package dockerapi

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// release is one Docker CE engine release with its bundled components.
type release struct {
	version, api, gitCommit, goVersion, buildTime  string
	containerd, containerdCommit, runc, runcCommit string
}

var releases = []release{
	{"20.10.24", "1.41", "5d6db84", "go1.19.7", "2023-04-04T10:28:17.000000000+00:00", "1.6.20", "2806fc1057397dbaeefbea0e4e17bddfbd388f38", "1.1.5", "v1.1.5-0-gf19387a"},
	{"23.0.6", "1.42", "9dbdbd4", "go1.19.9", "2023-05-05T21:18:13.000000000+00:00", "1.6.21", "3dce8eb055cbb6872793272b4f20ed16117344f8", "1.1.7", "v1.1.7-0-g860f061"},
	{"24.0.5", "1.43", "a61e2b4", "go1.20.6", "2023-07-21T20:35:18.000000000+00:00", "1.6.22", "8165feabfdfe38c65b599c4993d227328c231fca", "1.1.8", "v1.1.8-0-g82f18fe"},
	{"24.0.7", "1.43", "311b9ff", "go1.20.10", "2023-10-26T09:08:02.000000000+00:00", "1.6.24", "61f9fd88f79f081d64d6fa3bb1a0dc71ec870523", "1.1.9", "v1.1.9-0-gccaecfc"},
	{"25.0.3", "1.44", "f417435", "go1.21.6", "2024-02-06T21:14:25.000000000+00:00", "1.6.28", "ae07eda36dd25f8a1b98dfbf587313b99c0190bb", "1.1.12", "v1.1.12-0-g51d5e94"},
	{"26.1.4", "1.45", "de5c9cf", "go1.21.11", "2024-06-05T11:29:22.000000000+00:00", "1.6.33", "d2d58213f83a351ca8f528a95fbd145f5654e957", "1.1.12", "v1.1.12-0-g51d5e94"},
}

func releaseFor(v string, id persona.Identity) release {
	for _, r := range releases {
		if r.version == v {
			return r
		}
	}
	r := releases[2]
	r.version = v
	switch {
	case strings.HasPrefix(v, "20."):
		r = releases[0]
	case strings.HasPrefix(v, "23."):
		r = releases[1]
	case strings.HasPrefix(v, "25."):
		r = releases[4]
	case strings.HasPrefix(v, "26."), strings.HasPrefix(v, "27."), strings.HasPrefix(v, "28."):
		r = releases[5]
	}
	r.version = v
	r.gitCommit = hex.EncodeToString(id.Bytes("docker-commit/"+v, 4))[:7]
	return r
}

// uuidAPI reports whether the engine ID is a UUID (23.0 and later) rather
// than the old libtrust key id.
func (r release) uuidID() bool {
	return !strings.HasPrefix(r.version, "20.") && !strings.HasPrefix(r.version, "19.")
}

// engineID is the daemon's ID as /info shows it.
func engineID(id persona.Identity, uuid bool) string {
	b := id.Bytes("docker-engine-id", 30)
	if uuid {
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		h := hex.EncodeToString(b[:16])
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	s := base32.StdEncoding.EncodeToString(b)[:48]
	var parts []string
	for i := 0; i < 48; i += 4 {
		parts = append(parts, s[i:i+4])
	}
	return strings.Join(parts, ":")
}

// image is one local image.
type image struct {
	repo, tag string
	id        string // sha256:...
	digest    string // repo@sha256:...
	created   time.Time
	size      int64
	cmd       []string
	entry     []string
	env       []string
	workdir   string
	ports     []string
}

func (im *image) ref() string { return im.repo + ":" + im.tag }

// container is one container the engine knows.
type container struct {
	id, name string
	image    *image
	imageRef string
	cmd      []string
	entry    []string
	env      []string
	created  time.Time
	started  time.Time
	running  bool
	exitCode int
	errText  string
	ports    []portMap
	ip, mac  string
	labels   map[string]string
	binds    []string
	priv     bool
	netMode  string
	restart  string
	hostname string
	// autoRemove containers are removed when their start fails; done is
	// closed then, releasing waiters.
	autoRemove bool
	tty        bool
	done       chan struct{}
	execIDs    []string
}

type portMap struct {
	priv, pub int
	proto     string
}

func hexID(id persona.Identity, purpose string) string {
	return hex.EncodeToString(id.Bytes(purpose, 32))
}

// pulledImage makes the image a pull of ref brings, stable per decky.
func pulledImage(id persona.Identity, repo, tag string, now time.Time) *image {
	sum := sha256.Sum256(append(id.Bytes("docker-pull", 16), repo+":"+tag...))
	r := id.Rand("docker-pull/" + repo + ":" + tag)
	d := sha256.Sum256(sum[:])
	return &image{repo: repo, tag: tag, id: "sha256:" + hex.EncodeToString(sum[:]), digest: repo + "@sha256:" + hex.EncodeToString(d[:]),
		created: now.Add(-time.Duration(24*(5+r.IntN(60))) * time.Hour), size: int64(3_000_000 + r.IntN(150_000_000)),
		cmd: []string{"/bin/sh"}, env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, workdir: "/"}
}

// seed builds the images and running containers of one decky's engine.
func seed(id persona.Identity, hostname string, now time.Time) ([]*image, []*container) {
	r := id.Rand("docker-seed")
	up := id.Uptime(now)
	mk := func(repo, tag string, size int64, cmd, entry, env []string, ports ...string) *image {
		im := pulledImage(id, repo, tag, now.Add(-up))
		im.size = size + int64(r.IntN(1_000_000))
		im.cmd, im.entry, im.ports = cmd, entry, ports
		im.env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
		return im
	}
	nginx := mk("nginx", "1.25.3", 187_000_000, []string{"nginx", "-g", "daemon off;"}, []string{"/docker-entrypoint.sh"}, []string{"NGINX_VERSION=1.25.3", "NJS_VERSION=0.8.2", "PKG_RELEASE=1~bookworm"}, "80/tcp")
	pg := mk("postgres", "15.5", 412_000_000, []string{"postgres"}, []string{"docker-entrypoint.sh"}, []string{"GOSU_VERSION=1.16", "LANG=en_US.utf8", "PG_MAJOR=15", "PG_VERSION=15.5-1.pgdg120+1", "PGDATA=/var/lib/postgresql/data"}, "5432/tcp")
	redis := mk("redis", "7.2-alpine", 41_000_000, []string{"redis-server"}, []string{"docker-entrypoint.sh"}, []string{"REDIS_VERSION=7.2.3"}, "6379/tcp")
	app := mk("registry.gitlab.com/"+strings.ToLower(strings.Split(hostname, ".")[0])+"/backend", "v2.14."+fmt.Sprint(r.IntN(9)), 236_000_000,
		[]string{"gunicorn", "-b", "0.0.0.0:8000", "app.wsgi"}, nil, []string{"PYTHONUNBUFFERED=1", "DJANGO_SETTINGS_MODULE=app.settings.production"}, "8000/tcp")
	images := []*image{nginx, pg, redis, app, mk("alpine", "3.19", 7_380_000, []string{"/bin/sh"}, nil, nil)}
	started := now.Add(-up).Add(time.Duration(40+r.IntN(200)) * time.Second)
	var cs []*container
	add := func(name string, im *image, ip int, ports ...portMap) {
		c := &container{id: hexID(id, "docker-container/"+name), name: name, image: im, imageRef: im.ref(), cmd: im.cmd, entry: im.entry, env: im.env,
			created: started.Add(-time.Duration(24*(3+r.IntN(40))) * time.Hour), started: started, running: true, ports: ports,
			ip: fmt.Sprintf("172.17.0.%d", ip), mac: fmt.Sprintf("02:42:ac:11:00:%02x", ip), netMode: "bridge", restart: "unless-stopped",
			labels: map[string]string{"com.docker.compose.project": "prod", "com.docker.compose.service": strings.TrimPrefix(name, "prod-")}}
		c.hostname = c.id[:12]
		c.done = make(chan struct{})
		cs = append(cs, c)
	}
	add("prod-web-1", nginx, 2, portMap{80, 80, "tcp"}, portMap{443, 443, "tcp"})
	add("prod-api-1", app, 3, portMap{8000, 8000, "tcp"})
	add("prod-db-1", pg, 4)
	add("prod-cache-1", redis, 5)
	return images, cs
}
