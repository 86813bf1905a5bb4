package persona

import (
	"sort"
	"strconv"
	"strings"
)

// HostnameStyle names a way of naming machines, as a distribution's default
// installer or an admin team would.
type HostnameStyle string

// The hostname styles.
const (
	StyleGeneric HostnameStyle = "generic" // SRV-WEB-42
	StyleRHEL    HostnameStyle = "rhel"    // web42.localdomain
	StyleMinimal HostnameStyle = "minimal" // web-42
	StyleRolling HostnameStyle = "rolling" // alpha-proxy
	StyleDesktop HostnameStyle = "desktop" // DESKTOP-7QK2M4X
	StyleWinSrv  HostnameStyle = "winsrv"  // WIN-4J2K8Q1M3ZP
	StyleDevice  HostnameStyle = "device"  // ipcam-3f9a
	StyleNetwork HostnameStyle = "netdev"  // rtr-core-01
)

// Distro is one operating system release a decky can claim. Every layer of a
// decky (banners, /etc/os-release, uname, default server versions) reads it,
// so that they all tell the same story.
type Distro struct {
	Slug          string        `json:"slug"`
	Display       string        `json:"display"`
	Family        Family        `json:"os_family"`
	HostnameStyle HostnameStyle `json:"hostname_style"`
	// OSReleaseID, VersionID and PrettyName are the /etc/os-release values
	// (or their Windows equivalents).
	OSReleaseID string `json:"os_release_id"`
	VersionID   string `json:"version_id"`
	PrettyName  string `json:"pretty_name"`
	Kernel      string `json:"kernel"`
	// SSHVersion is the software version of the SSH identification string,
	// without the "SSH-2.0-" prefix.
	SSHVersion string `json:"ssh_version"`
	// HTTPServer is the Server header the distro's default web server sends.
	HTTPServer string `json:"http_server"`
}

// distros holds the catalogue. The first nine carry the original system's
// slugs; the Windows, BSD, embedded and Cisco entries exist so that a persona's
// family and distribution never contradict each other.
var distros = []Distro{
	{"debian", "Debian 12", Linux, StyleGeneric, "debian", "12", "Debian GNU/Linux 12 (bookworm)",
		"6.1.0-28-amd64", "OpenSSH_9.2p1 Debian-2+deb12u7", "nginx/1.22.1"},
	{"ubuntu22", "Ubuntu 22.04", Linux, StyleGeneric, "ubuntu", "22.04", "Ubuntu 22.04.4 LTS",
		"5.15.0-119-generic", "OpenSSH_8.9p1 Ubuntu-3ubuntu0.13", "nginx/1.18.0 (Ubuntu)"},
	{"ubuntu20", "Ubuntu 20.04", Linux, StyleGeneric, "ubuntu", "20.04", "Ubuntu 20.04.6 LTS",
		"5.4.0-192-generic", "OpenSSH_8.2p1 Ubuntu-4ubuntu0.11", "Apache/2.4.41 (Ubuntu)"},
	{"rocky9", "Rocky 9", Linux, StyleRHEL, "rocky", "9.4", "Rocky Linux 9.4 (Blue Onyx)",
		"5.14.0-427.13.1.el9_4.x86_64", "OpenSSH_8.7", "Apache/2.4.57 (Rocky Linux)"},
	{"centos7", "CentOS 7", Linux, StyleRHEL, "centos", "7", "CentOS Linux 7 (Core)",
		"3.10.0-1160.119.1.el7.x86_64", "OpenSSH_7.4", "Apache/2.4.6 (CentOS)"},
	{"alpine", "Alpine 3.19", Linux, StyleMinimal, "alpine", "3.19.1", "Alpine Linux v3.19",
		"6.6.14-0-lts", "OpenSSH_9.6", "nginx/1.24.0"},
	{"fedora", "Fedora 39", Linux, StyleRHEL, "fedora", "39", "Fedora Linux 39 (Server Edition)",
		"6.5.6-300.fc39.x86_64", "OpenSSH_9.3", "Apache/2.4.58 (Fedora Linux)"},
	{"kali", "Kali", Linux, StyleRolling, "kali", "2024.2", "Kali GNU/Linux Rolling",
		"6.8.11-amd64", "OpenSSH_9.7p1 Debian-5", "Apache/2.4.59 (Debian)"},
	{"arch", "Arch", Linux, StyleRolling, "arch", "", "Arch Linux",
		"6.9.7-arch1-1", "OpenSSH_9.8", "nginx/1.26.1"},
	{"win10", "Windows 10 Pro 22H2", Windows, StyleDesktop, "windows", "10.0.19045", "Windows 10 Pro",
		"10.0.19045", "OpenSSH_for_Windows_8.1", "Microsoft-IIS/10.0"},
	{"win11", "Windows 11 Pro 23H2", Windows, StyleDesktop, "windows", "10.0.22631", "Windows 11 Pro",
		"10.0.22631", "OpenSSH_for_Windows_8.6", "Microsoft-IIS/10.0"},
	{"win2016", "Windows Server 2016", WindowsServer, StyleWinSrv, "windows", "10.0.14393", "Windows Server 2016 Standard",
		"10.0.14393", "OpenSSH_for_Windows_7.7", "Microsoft-IIS/10.0"},
	{"win2019", "Windows Server 2019", WindowsServer, StyleWinSrv, "windows", "10.0.17763", "Windows Server 2019 Standard",
		"10.0.17763", "OpenSSH_for_Windows_7.7", "Microsoft-IIS/10.0"},
	{"win2022", "Windows Server 2022", WindowsServer, StyleWinSrv, "windows", "10.0.20348", "Windows Server 2022 Standard",
		"10.0.20348", "OpenSSH_for_Windows_8.1", "Microsoft-IIS/10.0"},
	{"freebsd13", "FreeBSD 13.3", BSD, StyleMinimal, "freebsd", "13.3", "FreeBSD 13.3-RELEASE",
		"13.3-RELEASE", "OpenSSH_9.6 FreeBSD-20240104", "nginx/1.24.0"},
	{"freebsd14", "FreeBSD 14.1", BSD, StyleMinimal, "freebsd", "14.1", "FreeBSD 14.1-RELEASE",
		"14.1-RELEASE", "OpenSSH_9.7 FreeBSD-20240318", "nginx/1.26.1"},
	{"busybox", "Embedded Linux (BusyBox 1.31)", Embedded, StyleDevice, "buildroot", "2020.02", "Buildroot 2020.02",
		"4.9.37", "dropbear_2019.78", "lighttpd/1.4.55"},
	{"openwrt", "OpenWrt 23.05", Embedded, StyleDevice, "openwrt", "23.05.3", "OpenWrt 23.05.3",
		"5.15.150", "dropbear_2022.82", "uhttpd"},
	{"ios15", "Cisco IOS 15.2", Cisco, StyleNetwork, "ios", "15.2(7)E", "Cisco IOS Software, Version 15.2(7)E",
		"15.2(7)E", "Cisco-1.25", "cisco-IOS"},
}

// sshReleases lists, per distribution, the OpenSSH package releases a decky
// may claim: real updates of the distribution's openssh-server, never a
// release a honeypot ships as its default banner (HoneypotSSHBanners). A
// decky picks one from its identity (ForIdentity), so one install's Debian
// deckies do not all share one banner and two installs differ. Every entry
// of one list offers the same algorithms: Debian's 1:9.2p1-2+deb12u4 added
// the unsuffixed sntrup761x25519-sha512 key exchange, so bookworm starts at
// u4 (the algorithm profile in service/ssh follows the claimed release).
var sshReleases = map[string][]string{
	// bookworm: 1:9.2p1-2+deb12u4 (2024-12) .. u10 (2026-05).
	"debian": {"OpenSSH_9.2p1 Debian-2+deb12u4", "OpenSSH_9.2p1 Debian-2+deb12u5", "OpenSSH_9.2p1 Debian-2+deb12u6",
		"OpenSSH_9.2p1 Debian-2+deb12u7", "OpenSSH_9.2p1 Debian-2+deb12u8", "OpenSSH_9.2p1 Debian-2+deb12u9",
		"OpenSSH_9.2p1 Debian-2+deb12u10"},
	// jammy-security updates after 3ubuntu0.10 (T-Pot's default).
	"ubuntu22": {"OpenSSH_8.9p1 Ubuntu-3ubuntu0.11", "OpenSSH_8.9p1 Ubuntu-3ubuntu0.13"},
	// focal-security.
	"ubuntu20": {"OpenSSH_8.2p1 Ubuntu-4ubuntu0.11", "OpenSSH_8.2p1 Ubuntu-4ubuntu0.12", "OpenSSH_8.2p1 Ubuntu-4ubuntu0.13"},
}

// HoneypotSSHBanners are SSH identification strings (without "SSH-2.0-" or
// "SSH-1.99-") that honeypots ship as their default and that detectors
// list (potsnitch's COWRIE_DEFAULT_BANNERS, from cowrie.cfg.dist, Kippo,
// T-Pot and Heralding; OpenCanary's). No persona may claim one.
var HoneypotSSHBanners = []string{
	"OpenSSH_9.2p1 Debian-2+deb12u3",    // Cowrie 2.5+
	"OpenSSH_6.0p1 Debian-4+deb7u2",     // Cowrie 1.0-2.4
	"OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",  // T-Pot's Cowrie
	"OpenSSH_6.6.1p1 Ubuntu-2ubuntu2.8", // T-Pot's Heralding
	"OpenSSH_5.1p1 Debian-5",            // Kippo
	"OpenSSH_5.1p1 Debian-4",            // OpenCanary
	// cowrie.cfg.dist's documented alternatives.
	"OpenSSH_5.9p1 Debian-5ubuntu1.4", "OpenSSH_4.3", "OpenSSH_4.7", "Sun_SSH_1.1", "OpenSSH_4.2p1 Debian-7ubuntu3.1",
	"OpenSSH_4.6", "OpenSSH_5.1p1 FreeBSD-20080901", "OpenSSH_5.3p1 Debian-3ubuntu5", "OpenSSH_5.3p1 Debian-3ubuntu6",
	"OpenSSH_5.3p1 Debian-3ubuntu7", "OpenSSH_5.5p1 Debian-6", "OpenSSH_5.5p1 Debian-6+squeeze1",
	"OpenSSH_5.5p1 Debian-6+squeeze2", "OpenSSH_5.8p2_hpn13v11 FreeBSD-20110503", "OpenSSH_5.9p1 Debian-5ubuntu1",
	"OpenSSH_5.9",
}

// SSHReleases returns the SSH banners a decky of this distribution may
// claim (the SSHVersion alone when the distribution has no list).
func (d Distro) SSHReleases() []string {
	if l := sshReleases[d.Slug]; len(l) > 0 {
		return append([]string(nil), l...)
	}
	return []string{d.SSHVersion}
}

// ForIdentity returns the distribution as one decky claims it: the values
// that vary between real installs of one release (the patch release of
// openssh-server) are picked from the decky's identity, stable for the
// decky's life.
func (d Distro) ForIdentity(id Identity) Distro {
	if l := sshReleases[d.Slug]; len(l) > 0 {
		d.SSHVersion = l[id.Rand("ssh-release").IntN(len(l))]
	}
	return d
}

// Distros returns the catalogue, sorted by slug.
func Distros() []Distro {
	out := append([]Distro(nil), distros...)
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// LookupDistro returns a distribution by slug.
func LookupDistro(slug string) (Distro, bool) {
	for _, d := range distros {
		if d.Slug == slug {
			return d, true
		}
	}
	return Distro{}, false
}

// DistroFor is a persona's distribution: the one it names, else (it names
// only its family, perhaps an archetype) one of the archetype's preferred
// distributions of that family, else of the family's, picked by the
// decky's identity so every run and every component picks the same. A
// Windows persona without a distribution so gets IIS, Windows builds and
// Windows' SSH, never the Linux defaults.
func DistroFor(slug string, f Family, archetype string, id Identity) Distro {
	if d, ok := LookupDistro(slug); ok {
		return d
	}
	if f == "" {
		f = Linux
	}
	var pool []string
	if a, ok := LookupArchetype(archetype); ok && a.Family == f {
		pool = a.PreferredDistros
	}
	if len(pool) == 0 {
		pool = DistrosOf(f)
	}
	if len(pool) == 0 {
		return Distro{}
	}
	d, _ := LookupDistro(pool[id.Rand("distro").IntN(len(pool))])
	return d
}

// DistrosOf returns the slugs of the distributions of one family, in
// catalogue order.
func DistrosOf(f Family) []string {
	var out []string
	for _, d := range distros {
		if d.Family == f {
			out = append(out, d.Slug)
		}
	}
	return out
}

// WindowsBuild is the build of a Windows persona's version (17763 for
// 10.0.17763), 0 for others.
func (d Distro) WindowsBuild() int {
	if !d.Family.IsWindows() {
		return 0
	}
	v := strings.Split(d.Kernel, ".")
	b, _ := strconv.Atoi(v[len(v)-1])
	return b
}
