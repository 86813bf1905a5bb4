package persona

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WindowsIdentity is what a machine says of itself in the NTLM challenges
// and directory answers of SMB, RDP, LDAP and MSSQL. Every service of a
// decky reads the same one, so nmap's smb-os-discovery, rdp-ntlm-info and
// ms-sql-info agree. A Linux persona gets the identity of a standalone
// Samba server (workgroup, no DNS domain).
type WindowsIdentity struct {
	NetBIOSName   string // WIN-4J2K8Q1M3ZP, at most 15 characters
	NetBIOSDomain string // KESTREL, or WORKGROUP for Samba
	DNSName       string // win-4j2k8q1m3zp.kestrel.local, or the bare name
	DNSDomain     string // kestrel.local; empty for a standalone Samba
	DNSForest     string // the forest root; empty for a standalone Samba
	// Major, Minor and Build are the OS version (10.0.17763 for Server
	// 2019) NTLM's VERSION structure carries; zero for Samba.
	Major, Minor uint8
	Build        uint16
	ServerGUID   [16]byte
	DomainSID    string // S-1-5-21-x-y-z, shared by the topology's domain
	Boot         time.Time
}

// domainWords name organisations; the topology's seed picks one.
var domainWords = []string{"kestrel", "halcyon", "norvale", "ashford", "brightwater", "meridian", "bluepeak", "stonebridge",
	"larkspur", "redfern", "harrowgate", "eastmere", "corvane", "westfield", "oakhurst", "silvercrest", "tidewell", "granmoor"}

// Windows returns the decky's identity for a persona of distro d named
// hostname, at time now (for the boot time). The domain belongs to the
// topology: every decky of one topology is in the same domain.
func (id Identity) Windows(d Distro, hostname string, now time.Time) WindowsIdentity {
	short := strings.ToUpper(strings.SplitN(hostname, ".", 2)[0])
	if len(short) > 15 {
		short = short[:15]
	}
	w := WindowsIdentity{NetBIOSName: short, Boot: now.Add(-id.Uptime(now)).Truncate(time.Second)}
	copy(w.ServerGUID[:], id.Bytes("windows-server-guid", 16))
	w.ServerGUID[7] = w.ServerGUID[7]&0x0f | 0x40 // a version 4 GUID, as Windows makes
	w.ServerGUID[8] = w.ServerGUID[8]&0x3f | 0x80
	topo := NewIdentity(id.seed, "")
	r := topo.Rand("windows-domain")
	org := domainWords[r.IntN(len(domainWords))]
	forest := org + []string{".local", ".lan", ".corp", ".internal"}[r.IntN(4)]
	domain := forest
	if r.IntN(3) == 0 {
		domain = "ad." + org + ".com"
		forest = domain
	}
	sid := topo.Rand("windows-domain-sid")
	w.DomainSID = fmt.Sprintf("S-1-5-21-%d-%d-%d", 1e9+sid.Int64N(3e9), 1e9+sid.Int64N(3e9), 1e9+sid.Int64N(3e9))
	if !d.Family.IsWindows() {
		w.NetBIOSDomain = "WORKGROUP"
		w.DNSName = strings.ToLower(strings.SplitN(hostname, ".", 2)[0])
		return w
	}
	w.NetBIOSDomain = strings.ToUpper(org)
	if len(w.NetBIOSDomain) > 15 {
		w.NetBIOSDomain = w.NetBIOSDomain[:15]
	}
	w.DNSDomain, w.DNSForest = domain, forest
	w.DNSName = strings.ToLower(short) + "." + domain
	if v := strings.Split(d.Kernel, "."); len(v) == 3 {
		major, _ := strconv.Atoi(v[0])
		minor, _ := strconv.Atoi(v[1])
		build, _ := strconv.Atoi(v[2])
		w.Major, w.Minor, w.Build = uint8(major), uint8(minor), uint16(build)
	}
	return w
}

// GUIDString writes the server GUID as Windows does, mixed-endian.
func (w WindowsIdentity) GUIDString() string {
	g := w.ServerGUID
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15])
}
