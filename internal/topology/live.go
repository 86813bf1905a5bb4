package topology

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
)

// Live is what an operator changes on a running decky without restarting
// it: tarpits on its ports and files dropped into its filesystem. It is
// desired state like the rest of the spec (hashed, pushed, kept across
// redeploys), but drivers apply it to the running decky in place: the
// decky's recipe, and so its container, does not depend on it
// (Spec.WithoutLive).
type Live struct {
	// Tarpits slow attackers' connections to one port of the decky down.
	Tarpits []Tarpit `json:"tarpits,omitempty" yaml:"tarpits,omitempty"`
	// Files are dropped into the decky's filesystem as its shell, FTP and
	// SMB show it.
	Files []Drop `json:"files,omitempty" yaml:"files,omitempty"`
}

// Tarpit trickles a port's answers a few bytes a second and reads the
// client's bytes as slowly, for every source or one.
type Tarpit struct {
	// Port is the decky's TCP port (one of its services' ports).
	Port uint16 `json:"port" yaml:"port"`
	// Source limits the tarpit to one attacker: an IP address or a CIDR
	// prefix. Empty means every source.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	// Rate is the bytes per second a tarpitted connection gets each way
	// (default DefaultTarpitRate).
	Rate int `json:"rate,omitempty" yaml:"rate,omitempty"`
}

// Drop is one file put into a decky's filesystem.
type Drop struct {
	// Path is absolute and clean (/root/passwords.txt).
	Path string `json:"path" yaml:"path"`
	// Data is the file's content, base64 (standard encoding).
	Data string `json:"data" yaml:"data"`
	// Mode holds the permission bits (default 0644).
	Mode uint32 `json:"mode,omitempty" yaml:"mode,omitempty"`
	// Owner is the user owning the file (default root).
	Owner string `json:"owner,omitempty" yaml:"owner,omitempty"`
	// Places are where the file shows: shell (SSH and Telnet), ftp, smb.
	// Empty means every place among the decky's services.
	Places []string `json:"places,omitempty" yaml:"places,omitempty"`
}

// Limits of live controls.
const (
	DefaultTarpitRate = 4
	MaxTarpitRate     = 1 << 20
	MaxTarpits        = 64
	MaxDrops          = 32
	MaxDropSize       = 256 << 10
	MaxDropsSize      = 1 << 20
)

// DropPlaces are the places a dropped file may show.
var DropPlaces = []string{"shell", "ftp", "smb"}

var ownerRe = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// Bytes returns the drop's decoded content.
func (d Drop) Bytes() ([]byte, error) { return base64.StdEncoding.DecodeString(d.Data) }

// FileMode returns the drop's permission bits, 0644 when unset.
func (d Drop) FileMode() uint32 {
	if d.Mode == 0 {
		return 0o644
	}
	return d.Mode & 0o7777
}

// Matches reports whether the tarpit covers a connection from src.
func (t Tarpit) Matches(src netip.Addr) bool {
	if t.Source == "" {
		return true
	}
	if p, err := netip.ParsePrefix(t.Source); err == nil {
		return p.Contains(src.Unmap())
	}
	a, err := netip.ParseAddr(t.Source)
	return err == nil && a.Unmap() == src.Unmap()
}

// BytesPerSecond is the tarpit's rate, the default when unset.
func (t Tarpit) BytesPerSecond() int {
	if t.Rate <= 0 {
		return DefaultTarpitRate
	}
	return t.Rate
}

// WithoutLive returns a copy of the spec whose deckies carry no live
// controls: what a decky's recipe (its container, its runtime) is built
// from, so that a tarpit or a dropped file never restarts it.
func (s *Spec) WithoutLive() *Spec {
	c := *s
	c.Deckies = slices.Clone(s.Deckies)
	for i := range c.Deckies {
		c.Deckies[i].Live = nil
	}
	return &c
}

// TCPPortsOf returns the TCP ports a decky's built-in services listen on.
func TCPPortsOf(d *Decky) []uint16 {
	var out []uint16
	for _, slug := range d.Services {
		info, ok := service.Lookup(slug)
		if !ok {
			continue
		}
		for _, p := range info.Ports {
			if p.Proto == service.TCP && !slices.Contains(out, p.Number) {
				out = append(out, p.Number)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (v *validator) live(d *Decky) {
	if d.Live == nil {
		return
	}
	ref := Ref{Kind: "decky", Name: d.Name}
	ports := TCPPortsOf(d)
	if len(d.Live.Tarpits) > MaxTarpits {
		v.r.errorf(LiveInvalid, ref, "at most %d tarpits per decky", MaxTarpits)
	}
	seen := map[string]bool{}
	for _, t := range d.Live.Tarpits {
		switch {
		case !slices.Contains(ports, t.Port):
			v.r.errorf(LiveInvalid, ref, "tarpit: port %d is not a TCP port of decky %s (its ports: %s)", t.Port, d.Name, portList(ports))
		case t.Rate < 0 || t.Rate > MaxTarpitRate:
			v.r.errorf(LiveInvalid, ref, "tarpit on port %d: rate %d must be 1-%d bytes per second (0 for the default %d)", t.Port, t.Rate, MaxTarpitRate, DefaultTarpitRate)
		case !validSource(t.Source):
			v.r.errorf(LiveInvalid, ref, "tarpit on port %d: source %q is neither an IP address nor a CIDR prefix", t.Port, t.Source)
		}
		key := fmt.Sprintf("%d %s", t.Port, t.Source)
		if seen[key] {
			v.r.errorf(LiveInvalid, ref, "tarpit on port %d for source %q is listed twice", t.Port, t.Source)
		}
		seen[key] = true
	}
	if len(d.Live.Files) > MaxDrops {
		v.r.errorf(LiveInvalid, ref, "at most %d dropped files per decky", MaxDrops)
	}
	total := 0
	paths := map[string]bool{}
	for _, f := range d.Live.Files {
		fref := fmt.Sprintf("file %q", f.Path)
		b, err := f.Bytes()
		total += len(b)
		switch {
		case !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" || len(f.Path) > 1024:
			v.r.errorf(LiveInvalid, ref, "%s: the path must be absolute and clean (no .., no trailing /)", fref)
		case strings.HasPrefix(f.Path, "/proc/") || strings.HasPrefix(f.Path, "/sys/") || strings.HasPrefix(f.Path, "/dev/"):
			v.r.errorf(LiveInvalid, ref, "%s: /proc, /sys and /dev are generated, nothing can be dropped there", fref)
		case strings.ContainsAny(f.Path, "\x00\n\r\\"):
			v.r.errorf(LiveInvalid, ref, "%s: the path holds a control character or a backslash", fref)
		case err != nil:
			v.r.errorf(LiveInvalid, ref, "%s: data is not standard base64: %v", fref, err)
		case len(b) > MaxDropSize:
			v.r.errorf(LiveInvalid, ref, "%s: %d bytes, more than %d", fref, len(b), MaxDropSize)
		case f.Mode > 0o7777:
			v.r.errorf(LiveInvalid, ref, "%s: mode %o has bits beyond 07777", fref, f.Mode)
		case f.Owner != "" && !ownerRe.MatchString(f.Owner):
			v.r.errorf(LiveInvalid, ref, "%s: owner %q is not a user name", fref, f.Owner)
		}
		for _, p := range f.Places {
			if !slices.Contains(DropPlaces, p) {
				v.r.errorf(LiveInvalid, ref, "%s: place %q is not shell, ftp or smb", fref, p)
			}
		}
		if paths[f.Path] {
			v.r.errorf(LiveInvalid, ref, "%s is dropped twice", fref)
		}
		paths[f.Path] = true
	}
	if total > MaxDropsSize {
		v.r.errorf(LiveInvalid, ref, "dropped files hold %d bytes, more than %d per decky", total, MaxDropsSize)
	}
}

func validSource(s string) bool {
	if s == "" {
		return true
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

func portList(ports []uint16) string {
	if len(ports) == 0 {
		return "none"
	}
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

// RotatedType is the event the master publishes when it rotates a decky's
// services (scheduled or asked for).
const RotatedType = "decky.services.rotated"

func init() {
	event.Declare(event.Type{Name: RotatedType, Severity: event.Info,
		Summary: "The master rotated the services a decky exposes (published by the master; the agent applies the new set through the normal push).",
		Fields: []event.FieldDoc{
			event.F("before", "list", "the services exposed before"),
			event.F("after", "list", "the services exposed after"),
			event.F("by", "string", "schedule, or the operator who asked"),
		}})
}
