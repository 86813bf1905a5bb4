package persona

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Identity derives every per-decky identity value (hostname, MAC, host keys,
// boot time, GUIDs) from the topology seed and the decky name. The same pair
// always gives the same values, so a redeployed decky keeps its identity;
// another install has another seed, so its "decky-01" looks like a different
// machine. Values that must change per session (challenges, salts) never
// come from here.
type Identity struct {
	seed  string
	decky string
}

// NewIdentity returns the identity of one decky of a topology.
func NewIdentity(seed, decky string) Identity { return Identity{seed: seed, decky: decky} }

// Bytes returns n pseudo-random bytes for one purpose ("hostkey-ed25519",
// "mac", ...). Different purposes give independent streams.
func (id Identity) Bytes(purpose string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for block := uint32(0); len(out) < n; block++ {
		m := hmac.New(sha256.New, []byte(id.seed))
		m.Write([]byte(id.decky))
		m.Write([]byte{0})
		m.Write([]byte(purpose))
		var ctr [4]byte
		binary.BigEndian.PutUint32(ctr[:], block)
		m.Write(ctr[:])
		out = m.Sum(out)
	}
	return out[:n]
}

// Rand returns a deterministic random source for one purpose.
func (id Identity) Rand(purpose string) *rand.Rand {
	var s [32]byte
	copy(s[:], id.Bytes(purpose, 32))
	return rand.New(rand.NewChaCha8(s))
}

var hostWords = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "prod", "web",
	"db", "mail", "proxy", "dev", "stage", "backup", "monitor", "files", "app", "core", "vault", "ops"}

var deviceWords = []string{"ipcam", "nvr", "gw", "printer", "hvac", "plc", "sensor", "ap", "router"}

const winAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// Hostname returns a hostname in the given style.
func (id Identity) Hostname(style HostnameStyle) string {
	r := id.Rand("hostname")
	word := func() string { return hostWords[r.IntN(len(hostWords))] }
	num := func() int { return 10 + r.IntN(90) }
	win := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(winAlphabet[r.IntN(len(winAlphabet))])
		}
		return b.String()
	}
	switch style {
	case StyleRHEL:
		return fmt.Sprintf("%s%02d.localdomain", word(), num())
	case StyleMinimal:
		return fmt.Sprintf("%s-%02d", word(), num())
	case StyleRolling:
		a := word()
		b := word()
		for b == a {
			b = word()
		}
		return a + "-" + b
	case StyleDesktop:
		return "DESKTOP-" + win(7)
	case StyleWinSrv:
		return "WIN-" + win(11)
	case StyleDevice:
		return fmt.Sprintf("%s-%04x", deviceWords[r.IntN(len(deviceWords))], r.IntN(1<<16))
	case StyleNetwork:
		roles := []string{"rtr", "sw", "fw", "core"}
		return fmt.Sprintf("%s-%s-%02d", roles[r.IntN(len(roles))], word(), 1+r.IntN(20))
	default:
		return fmt.Sprintf("SRV-%s-%02d", strings.ToUpper(word()), num())
	}
}

// MAC returns a unicast MAC address whose vendor prefix fits the family.
func (id Identity) MAC(f Family) string {
	info, ok := families[f]
	if !ok {
		info = families[Linux]
	}
	r := id.Rand("mac")
	oui := info.OUIs[r.IntN(len(info.OUIs))]
	b := id.Bytes("mac-nic", 3)
	return fmt.Sprintf("%s:%02x:%02x:%02x", oui, b[0], b[1], b[2])
}

// MACFor returns the MAC of the decky's network interface nic (0 is the
// one on its home LAN, which is MAC): one vendor for the machine, as a
// server's onboard ports share theirs, and a different NIC part for each.
func (id Identity) MACFor(f Family, nic int) string {
	mac := id.MAC(f)
	if nic == 0 {
		return mac
	}
	b := id.Bytes(fmt.Sprintf("mac-nic-%d", nic), 3)
	return fmt.Sprintf("%s:%02x:%02x:%02x", mac[:8], b[0], b[1], b[2])
}

// Uptime returns how long the decky claims to have been up at the moment
// now, from a boot time derived from the seed: between one hour and 45 days
// before the first time the question is asked in a given 45-day window, so
// the claim never resets on restart and never grows beyond plausibility.
func (id Identity) Uptime(now time.Time) time.Duration {
	const window = 45 * 24 * time.Hour
	r := id.Rand("boot")
	offset := time.Hour + time.Duration(r.Int64N(int64(window-time.Hour)))
	return time.Duration(now.UnixNano()%int64(window)) + offset
}
