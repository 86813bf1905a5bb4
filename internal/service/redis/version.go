package redis

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// build is what a distribution's redis-server package reports about itself.
type build struct {
	version string
	buildID string // redis_build_id; empty: derived from the version
	gcc     string
	malloc  string
	config  string
}

// builds maps a distro slug to the Redis its repositories ship.
var builds = map[string]build{
	"debian":   {"7.0.15", "ae4d7c971a948f0", "12.2.0", "jemalloc-5.3.0", "/etc/redis/redis.conf"},
	"ubuntu22": {"6.0.16", "", "11.2.0", "jemalloc-5.2.1", "/etc/redis/redis.conf"},
	"ubuntu20": {"5.0.7", "", "9.3.0", "jemalloc-5.2.1", "/etc/redis/redis.conf"},
	"rocky9":   {"6.2.7", "", "11.3.1", "jemalloc-5.1.0", "/etc/redis/redis.conf"},
	"centos7":  {"3.2.12", "", "4.8.5", "jemalloc-3.6.0", "/etc/redis.conf"},
	"alpine":   {"7.2.4", "", "13.2.1", "libc", "/etc/redis.conf"},
	"fedora":   {"7.2.4", "", "13.2.1", "jemalloc-5.3.0", "/etc/redis/redis.conf"},
	"kali":     {"7.0.15", "", "13.2.0", "jemalloc-5.3.0", "/etc/redis/redis.conf"},
	"arch":     {"7.2.5", "", "14.1.1", "jemalloc-5.3.0", "/etc/redis/redis.conf"},
}

func buildFor(distro, version string) build {
	b, ok := builds[distro]
	if !ok {
		b = builds["debian"]
	}
	if version != "" && version != b.version {
		b.version = version
		b.buildID = ""
	}
	if b.buildID == "" {
		sum := sha256.Sum256([]byte("redis-build " + distro + " " + b.version))
		b.buildID = strings.TrimLeft(hex.EncodeToString(sum[:8]), "0")
	}
	return b
}

// dialect captures the reply texts that changed between Redis releases.
type dialect struct {
	major, minor int
}

func parseDialect(v string) dialect {
	var d dialect
	parts := strings.SplitN(v, ".", 3)
	atoi := func(s string) int {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	if len(parts) > 0 {
		d.major = atoi(parts[0])
	}
	if len(parts) > 1 {
		d.minor = atoi(parts[1])
	}
	return d
}

func (d dialect) atLeast(major, minor int) bool {
	return d.major > major || d.major == major && d.minor >= minor
}

// commandCount is what COMMAND COUNT answers.
func (d dialect) commandCount() int {
	switch {
	case d.atLeast(7, 2):
		return 241
	case d.atLeast(7, 0):
		return 240
	case d.atLeast(6, 2):
		return 224
	case d.atLeast(6, 0):
		return 204
	}
	return 200
}
