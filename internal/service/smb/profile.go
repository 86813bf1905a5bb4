package smb

import (
	"strings"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/ntlm"
	"github.com/decnet/decnet/internal/service/serve"
)

// SMB2 dialects.
const (
	dialect202  = 0x0202
	dialect210  = 0x0210
	dialect300  = 0x0300
	dialect302  = 0x0302
	dialect311  = 0x0311
	dialectWild = 0x02FF
)

// Global capabilities.
const (
	capDFS          = 0x01
	capLeasing      = 0x02
	capLargeMTU     = 0x04
	capMultiChannel = 0x08
	capDirLeasing   = 0x20
	capEncryption   = 0x40
)

// profile is what the persona makes the server say: Windows' SMB server
// or Debian's Samba.
type profile struct {
	samba    bool
	dc       bool
	desktop  bool     // a Windows client OS (10, 11)
	dialects []uint16 // supported, ascending
	// signingCaps: the server answers the 3.1.1 signing capabilities
	// context (Windows 11, Server 2022, Samba 4.15+).
	signingCaps     bool
	signingRequired bool
	maxSize         uint32
	mechs           [][]byte
	guid            [16]byte
	id              persona.WindowsIdentity
	ntlm            *ntlm.Server
	workgroup       string
	serverString    string // Samba's server string, the IPC$ comment
	osMajor         uint32 // wkssvc's version
	osMinor         uint32
}

func newProfile(env serve.Env, cfg *Settings) *profile {
	id := env.Windows()
	p := &profile{
		id:       id,
		dialects: []uint16{dialect202, dialect210, dialect300, dialect302, dialect311},
		maxSize:  8 << 20,
		dc:       env.Persona.Archetype == "domain-controller",
		desktop:  env.Persona.Family == persona.Windows,
	}
	if !env.Persona.Family.IsWindows() {
		// Samba 4.17 as Debian 12 configures it: a standalone server in
		// WORKGROUP. Its server GUID is its NetBIOS name, lowercase and
		// zero-padded; its NTLM target info names the server as the
		// domain, and its DNS computer name is the host's short name.
		p.samba, p.signingCaps = true, true
		p.workgroup = "WORKGROUP"
		copy(p.guid[:], strings.ToLower(id.NetBIOSName))
		p.mechs = [][]byte{ntlm.MechNTLM}
		p.serverString = strings.ToLower(strings.SplitN(env.Persona.Hostname, ".", 2)[0]) + " server (Samba, " + sambaOSName(env.Persona.Distro) + ")"
		p.osMajor, p.osMinor = 6, 1
		nid := id
		nid.NetBIOSDomain = id.NetBIOSName
		nid.DNSName = strings.ToLower(strings.SplitN(env.Persona.Hostname, ".", 2)[0])
		p.ntlm = &ntlm.Server{ID: nid, Version: &[3]int{6, 1, 0}, Standalone: true}
	} else {
		p.workgroup = id.NetBIOSDomain
		p.guid = id.ServerGUID
		p.mechs = ntlm.MechsDomain
		p.signingCaps = id.Build >= 20348 || (env.Persona.Family == persona.Windows && id.Build >= 22000)
		p.signingRequired = p.dc
		p.osMajor, p.osMinor = 10, 0
		p.ntlm = &ntlm.Server{ID: id}
	}
	if cfg.Workgroup != "" && !(p.samba && cfg.Workgroup == "WORKGROUP") {
		p.workgroup = strings.ToUpper(cfg.Workgroup)
		if !p.samba {
			nid := p.ntlm.ID
			nid.NetBIOSDomain = p.workgroup
			p.ntlm.ID = nid
		}
	}
	switch cfg.Signing {
	case "required":
		p.signingRequired = true
	case "enabled":
		p.signingRequired = false
	}
	return p
}

// sambaOSName is the distribution word Debian and Ubuntu put in Samba's
// default server string.
func sambaOSName(d persona.Distro) string {
	if strings.HasPrefix(d.Slug, "ubuntu") {
		return "Ubuntu"
	}
	return "Debian"
}

// capabilities answers a client's for a dialect, as the server does.
func (p *profile) capabilities(dialect uint16, client uint32) uint32 {
	if dialect == dialect202 {
		return capDFS
	}
	c := uint32(capDFS | capLeasing | capLargeMTU)
	if dialect < dialect300 || dialect == dialectWild {
		return c
	}
	// Multichannel, directory leasing and encryption are answered
	// only to a client that lists them (MS-SMB2 3.3.5.4); Samba 4.17 has
	// no directory leases.
	c |= client & capMultiChannel
	if !p.samba {
		c |= client & capDirLeasing
	}
	if dialect != dialect311 {
		c |= client & capEncryption
	}
	return c
}

// maxFor is the max transact/read/write size for a dialect: 64 KiB
// without large MTU.
func (p *profile) maxFor(dialect uint16) uint32 {
	if dialect == dialect202 {
		return 65536
	}
	return p.maxSize
}

func (p *profile) securityMode() uint16 {
	if p.signingRequired {
		return 3
	}
	return 1
}

func dialectName(d uint16) string {
	switch d {
	case dialect202:
		return "2.0.2"
	case dialect210:
		return "2.1"
	case dialect300:
		return "3.0"
	case dialect302:
		return "3.0.2"
	case dialect311:
		return "3.1.1"
	case dialectWild:
		return "2.???"
	}
	return "0x" + strings.ToLower(strings.TrimLeft(strings.ToUpper(hex16(d)), "0"))
}

func hex16(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12&15], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}
