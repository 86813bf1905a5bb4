package ssh

import (
	"regexp"
	"strconv"

	xssh "github.com/decnet/decnet/internal/service/ssh/internal/transport"
)

// profile is the algorithm offer of one SSH server release: what the real
// release offers (Claimed*) and, of that, what this implementation can
// complete (the lists the server sends, in the release's order).
type profile struct {
	Product string // "OpenSSH", "dropbear", ...
	Major   int
	Minor   int

	ClaimedKex, ClaimedCiphers, ClaimedMACs, ClaimedHostKeys, ClaimedCompression []string

	// RSASHA1 keeps ssh-rsa (SHA-1 signatures) among the host key
	// algorithms (OpenSSH before 8.8).
	RSASHA1 bool
	// KbdInteractive is offered as an auth method (the distro's
	// sshd_config default).
	KbdInteractive bool
}

// supported is everything the transport (our fork of
// golang.org/x/crypto/ssh, see internal/transport) can complete as a
// server.
var supported = map[string]bool{
	"curve25519-sha256": true, "curve25519-sha256@libssh.org": true,
	"ecdh-sha2-nistp256": true, "ecdh-sha2-nistp384": true, "ecdh-sha2-nistp521": true,
	"diffie-hellman-group-exchange-sha256": true, "diffie-hellman-group-exchange-sha1": true,
	"diffie-hellman-group16-sha512": true, "diffie-hellman-group18-sha512": true, "diffie-hellman-group14-sha256": true,
	"diffie-hellman-group14-sha1": true, "diffie-hellman-group1-sha1": true,
	"mlkem768x25519-sha256": true, "sntrup761x25519-sha512@openssh.com": true, "sntrup761x25519-sha512": true,

	"chacha20-poly1305@openssh.com": true, "aes128-ctr": true, "aes192-ctr": true, "aes256-ctr": true,
	"aes128-gcm@openssh.com": true, "aes256-gcm@openssh.com": true, "aes128-cbc": true, "3des-cbc": true,

	"hmac-sha2-256-etm@openssh.com": true, "hmac-sha2-512-etm@openssh.com": true,
	"hmac-sha2-256": true, "hmac-sha2-512": true, "hmac-sha1": true, "hmac-sha1-96": true, "hmac-sha1-etm@openssh.com": true,
	"umac-64-etm@openssh.com": true, "umac-128-etm@openssh.com": true, "umac-64@openssh.com": true, "umac-128@openssh.com": true,

	"ssh-ed25519": true, "ecdsa-sha2-nistp256": true, "rsa-sha2-512": true, "rsa-sha2-256": true, "ssh-rsa": true,

	"none": true, "zlib@openssh.com": true,
}

func filter(list []string) []string {
	var out []string
	for _, a := range list {
		if supported[a] {
			out = append(out, a)
		}
	}
	return out
}

// Kex, Ciphers and MACs are the lists sent, in the claimed order.
func (p profile) Kex() []string     { return filter(p.ClaimedKex) }
func (p profile) Ciphers() []string { return filter(p.ClaimedCiphers) }
func (p profile) MACs() []string    { return filter(p.ClaimedMACs) }

// Compression is the compression list sent.
func (p profile) Compression() []string { return filter(p.ClaimedCompression) }

// Missing lists the claimed algorithms the server cannot offer: the gap an
// observer can see between this decoy and the real release.
func (p profile) Missing() []string {
	var out []string
	for _, l := range [][]string{p.ClaimedKex, p.ClaimedCiphers, p.ClaimedMACs, p.ClaimedCompression} {
		for _, a := range l {
			if !supported[a] {
				out = append(out, a)
			}
		}
	}
	return out
}

var debianUpdateRE = regexp.MustCompile(`Debian-2\+deb12u(\d+)$`)

var versionRE = regexp.MustCompile(`^OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)`)

// OpenSSH default server offers by release (upstream sshd defaults, which
// the Debian, Ubuntu, Alpine, Arch and FreeBSD packages keep).
var (
	kex74 = []string{"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
		"ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
		"diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1"}
	kex82 = []string{"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
		"ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
		"diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"}
	kex85 = []string{"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
		"ecdh-sha2-nistp521", "sntrup761x25519-sha512@openssh.com", "diffie-hellman-group-exchange-sha256",
		"diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"}
	kex90 = []string{"sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org",
		"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256",
		"diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"}
	ciphersOpenSSH = []string{"chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr",
		"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}
	macsOpenSSH = []string{"umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com",
		"hmac-sha2-512-etm@openssh.com", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "umac-128@openssh.com",
		"hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"}
	compOpenSSH = []string{"none", "zlib@openssh.com"}

	// RHEL 9 / Rocky 9 / Fedora crypto-policies DEFAULT.
	kexRHEL9 = []string{"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
		"ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256",
		"diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512"}
	ciphersRHEL9 = []string{"aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes256-ctr",
		"aes128-gcm@openssh.com", "aes128-ctr"}
	macsRHEL9 = []string{"hmac-sha2-256-etm@openssh.com", "hmac-sha1-etm@openssh.com", "umac-128-etm@openssh.com",
		"hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha1", "umac-128@openssh.com", "hmac-sha2-512"}

	// Dropbear 2019-2022 defaults.
	kexDropbear = []string{"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp521", "ecdh-sha2-nistp384",
		"ecdh-sha2-nistp256", "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1", "kexguess2@matt.ucc.asn.au"}
)

// profileFor returns the offer of the server software in version (the
// identification string without "SSH-2.0-") on the given distro.
func profileFor(version, osID string) profile {
	p := profile{Product: "OpenSSH", ClaimedCiphers: ciphersOpenSSH, ClaimedMACs: macsOpenSSH, ClaimedCompression: compOpenSSH}
	if m := versionRE.FindStringSubmatch(version); m != nil {
		p.Major, _ = strconv.Atoi(m[1])
		p.Minor, _ = strconv.Atoi(m[2])
	} else if len(version) >= 8 && version[:8] == "dropbear" {
		p.Product = "dropbear"
		p.ClaimedKex = kexDropbear
		p.ClaimedCiphers = []string{"aes128-ctr", "aes256-ctr"}
		p.ClaimedMACs = []string{"hmac-sha1", "hmac-sha2-256"}
		p.ClaimedCompression = []string{"none"}
		p.RSASHA1 = true
		return p
	} else {
		p.Major, p.Minor = 9, 2 // an unknown banner gets a modern offer
	}
	v := p.Major*10 + p.Minor
	switch {
	case v >= 90:
		p.ClaimedKex = kex90
	case v >= 85:
		p.ClaimedKex = kex85
	case v >= 82:
		p.ClaimedKex = kex82
	default:
		p.ClaimedKex = kex74
	}
	p.RSASHA1 = v < 88
	if m := debianUpdateRE.FindStringSubmatch(version); m != nil && v == 92 {
		// Debian's 1:9.2p1-2+deb12u4 made sntrup761x25519-sha512 available
		// without its @openssh.com suffix, first in the default list.
		if n, _ := strconv.Atoi(m[1]); n >= 4 {
			p.ClaimedKex = append([]string{"sntrup761x25519-sha512"}, kex90...)
		}
	}
	switch osID {
	case "rocky", "fedora":
		p.ClaimedKex, p.ClaimedCiphers, p.ClaimedMACs = kexRHEL9, ciphersRHEL9, macsRHEL9
		p.RSASHA1 = false // crypto-policies DEFAULT disables SHA-1 signatures
		if v >= 90 {
			p.ClaimedKex = append([]string{"sntrup761x25519-sha512@openssh.com"}, kexRHEL9...)
		}
	}
	// Debian and Ubuntu (and RHEL) ship KbdInteractiveAuthentication no;
	// upstream's default, kept by Alpine, Arch and FreeBSD, is yes.
	switch osID {
	case "debian", "ubuntu", "kali", "rocky", "centos", "fedora":
	default:
		p.KbdInteractive = true
	}
	return p
}

// hostKeyAlgos returns the signature algorithms to offer for an RSA key.
func (p profile) rsaAlgos() []string {
	if p.RSASHA1 {
		return []string{xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, xssh.KeyAlgoRSA}
	}
	return []string{xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256}
}

// extInfo is what the release sends in SSH_MSG_EXT_INFO (RFC 8308) to a
// client that asks for it.
func (p profile) extInfo() [][2]string {
	if p.Product != "OpenSSH" {
		return [][2]string{}
	}
	v := p.Major*10 + p.Minor
	var algs string
	switch {
	case v >= 85:
		algs = "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-rsa,rsa-sha2-256,rsa-sha2-512"
	case v >= 82:
		algs = "ssh-ed25519,sk-ssh-ed25519@openssh.com,ssh-rsa,rsa-sha2-256,rsa-sha2-512,ssh-dss,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com"
	default:
		algs = "ssh-ed25519,ssh-rsa,rsa-sha2-256,rsa-sha2-512,ssh-dss,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521"
	}
	ext := [][2]string{{"server-sig-algs", algs}}
	if v >= 89 {
		ext = append(ext, [2]string{"publickey-hostbound@openssh.com", "0"})
	}
	if v >= 95 {
		ext = append(ext, [2]string{"ping@openssh.com", "0"})
	}
	return ext
}
