// Package persona describes who a decky pretends to be: its OS family (and the
// TCP/IP stack behaviour that goes with it), its distribution, its archetype,
// and the identity values (hostname, MAC, boot time, ...) derived from the
// topology seed. The package is pure: no I/O, no global mutable state.
package persona

import (
	"fmt"
	"sort"
)

// Family is an OS family as a fingerprinting tool such as nmap -O sees it.
type Family string

// The OS families a decky can claim.
const (
	Linux         Family = "linux"
	Windows       Family = "windows"
	WindowsServer Family = "windows_server"
	BSD           Family = "bsd"
	Embedded      Family = "embedded"
	Cisco         Family = "cisco"
)

// WindowsFamilies returns the Windows families.
func WindowsFamilies() []Family { return []Family{Windows, WindowsServer} }

// FamilyInfo is the static description of one OS family.
type FamilyInfo struct {
	Family  Family `json:"family"`
	Display string `json:"display"`
	// Sysctls are the kernel knobs applied in the decky's network namespace so
	// that its TCP/IP stack answers like the family's (TTL, options, ECN, ...).
	Sysctls []Sysctl `json:"sysctls"`
	// OUIs are MAC vendor prefixes plausible for hardware running this family.
	OUIs []string `json:"mac_vendor_prefixes"`
}

// Sysctl is one kernel parameter with its value, in /proc/sys dotted form.
type Sysctl struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// families holds the stack profiles. Values follow the stacks' defaults:
// Windows answers with TTL 128 and no ECN, network gear with TTL 255 and few
// TCP options. The receive buffer maximum (tcp_rmem) fixes the window scale
// the kernel advertises, log2(max(tcp_rmem max, net.core.rmem_max)) - 15:
// 8 MiB gives Windows' 8, 6 MiB Linux's 7, 2 MiB FreeBSD's 6 (when the
// host's rmem_max, which no namespace can lower, is under 4 MiB). The
// advertised scale is then the one the kernel really uses. The packet
// cloak (internal/cloak) does what no sysctl can.
var families = map[Family]FamilyInfo{
	Linux: {Linux, "Linux", stack(64, 6, 1, 1, 1, 2, 0, 60, 1000, 6168, rmemLinux),
		[]string{"00:50:56", "52:54:00", "00:25:90", "3c:ec:ef", "b8:ca:3a", "00:1e:67"}},
	Windows: {Windows, "Windows", stack(128, 2, 0, 1, 1, 0, 0, 30, 0, 0, rmemWindows),
		[]string{"d4:be:d9", "3c:52:82", "f8:b1:56", "54:ee:75", "00:1a:a0", "98:90:96"}},
	WindowsServer: {WindowsServer, "Windows Server", stack(128, 2, 1, 1, 1, 1, 0, 30, 0, 0, rmemWindows),
		[]string{"00:50:56", "00:15:5d", "14:18:77", "b8:2a:72", "ec:f4:bb", "24:6e:96"}},
	BSD: {BSD, "BSD", stack(64, 6, 1, 1, 1, 2, 0, 60, 250, 6168, rmemBSD),
		[]string{"00:25:90", "0c:c4:7a", "a0:36:9f", "00:1b:21"}},
	Embedded: {Embedded, "Embedded Linux", stack(255, 3, 0, 0, 0, 0, 1, 15, 0, 0, rmemLinux),
		[]string{"b8:27:eb", "dc:a6:32", "44:19:b6", "00:12:17", "c0:56:e3", "00:0f:7c"}},
	Cisco: {Cisco, "Cisco IOS", stack(255, 2, 0, 0, 0, 0, 1, 15, 0, 0, rmemLinux),
		[]string{"00:1b:54", "00:26:cb", "58:8d:09", "f4:cf:e2", "70:ca:9b"}},
}

// Receive buffers (min, default, max) per stack; see families. Tabs, as
// the kernel prints them back.
const (
	rmemLinux   = "4096\t131072\t6291456"
	rmemWindows = "4096\t131072\t8388608"
	rmemBSD     = "4096\t131072\t2097152"
)

func stack(ttl, synRetries, timestamps, wscale, sack, ecn, noPMTU, finTimeout, icmpRate, icmpMask int, rmem string) []Sysctl {
	kv := func(k string, v int) Sysctl { return Sysctl{k, fmt.Sprint(v)} }
	return []Sysctl{
		kv("net.ipv4.ip_default_ttl", ttl),
		kv("net.ipv4.tcp_syn_retries", synRetries),
		kv("net.ipv4.tcp_timestamps", timestamps),
		kv("net.ipv4.tcp_window_scaling", wscale),
		kv("net.ipv4.tcp_sack", sack),
		kv("net.ipv4.tcp_ecn", ecn),
		kv("net.ipv4.ip_no_pmtu_disc", noPMTU),
		kv("net.ipv4.tcp_fin_timeout", finTimeout),
		kv("net.ipv4.icmp_ratelimit", icmpRate),
		kv("net.ipv4.icmp_ratemask", icmpMask),
		{"net.ipv4.tcp_rmem", rmem},
	}
}

// Families returns every OS family, sorted by name.
func Families() []FamilyInfo {
	out := make([]FamilyInfo, 0, len(families))
	for _, f := range families {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Family < out[j].Family })
	return out
}

// LookupFamily returns the description of an OS family.
func LookupFamily(f Family) (FamilyInfo, bool) {
	info, ok := families[f]
	return info, ok
}

// IsWindows reports whether the family is one of the Windows families.
func (f Family) IsWindows() bool { return f == Windows || f == WindowsServer }

// SysctlMap returns the family's sysctls as a map, as container engines take them.
func (f Family) SysctlMap() map[string]string {
	info, ok := families[f]
	if !ok {
		return nil
	}
	m := make(map[string]string, len(info.Sysctls))
	for _, s := range info.Sysctls {
		m[s.Key] = s.Value
	}
	return m
}
