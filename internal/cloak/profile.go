package cloak

import (
	"strings"

	"github.com/decnet/decnet/internal/persona"
)

// IPID says how the cloak sets the IP identification field of everything
// the decky sends. It is done by one kernel rule on every outbound packet,
// so handshakes, data, resets and ICMP all carry the same sequence.
type IPID string

// The IP-ID policies.
const (
	IPIDKernel      IPID = ""            // Linux"s own: per-socket counters, zero on SYN-ACKs
	IPIDIncremental IPID = "incremental" // one counter for the whole host (TI=I CI=I II=I SS=S)
	IPIDRandom      IPID = "random"      // a random value per packet (TI=RD)
	IPIDZeroDF      IPID = "zero-df"     // zero when DF is set, one counter otherwise (TI=Z CI=Z II=I)
)

// Answer is what the cloak does with a TCP probe that the Linux kernel would
// drop silently: no SYN, no ACK, no RST (nmap"s T2, NULL/FIN/Xmas scans)
// or SYN together with FIN (T3), aimed at an open port.
type Answer string

// The answers.
const (
	AnswerNone   Answer = ""       // drop, as Linux does
	AnswerRSTAck Answer = "rstack" // RST+ACK, seq 0, ack = seq + SYN + FIN (Windows)
	AnswerAsSYN  Answer = "as-syn" // treat SYN+FIN as a SYN: the kernel"s SYN-ACK goes out (FreeBSD)
)

// ClosedRST is how a family resets a SYN or a flag-only probe to a closed
// port, where it differs from Linux (seq 0, ack = seq + SYN + FIN).
type ClosedRST struct {
	// SeqFromAck puts the probe"s acknowledgment number in the reset"s
	// sequence number (Cisco: S=A).
	SeqFromAck bool `json:"seq_from_ack"`
	// AckNoFIN acknowledges the probe"s SYN but not its FIN (A=S on T7).
	AckNoFIN bool `json:"ack_no_fin"`
}

// Profile is the packet-level behaviour of one OS family as nmap -O
// measures it, derived from one real fingerprint of nmap-os-db (Fingerprint,
// verbatim). The kernel does what it can be configured to do (the family"s
// sysctls in persona: TTL, timestamps, window scaling, SACK, ECN, and the
// receive buffer that fixes the window scale it advertises); the profile
// holds what only a packet rewriter can change.
type Profile struct {
	Family persona.Family `json:"family"`
	// Fingerprint names the nmap-os-db (nmap 7.93) entry this profile
	// follows; testdata/fingerprints.txt holds the entry.
	Fingerprint string `json:"fingerprint"`
	TTL         uint8  `json:"ttl"`
	// DF is the Don"t Fragment bit on SYN-ACKs, resets and crafted answers.
	DF   bool `json:"df"`
	IPID IPID `json:"ip_id"`
	// Window is the SYN-ACK window (nmap"s W1-W5); WindowNoWS the one
	// given to a SYN without window scaling (W6). 0 keeps the kernel"s.
	Window     uint16 `json:"window"`
	WindowNoWS uint16 `json:"window_no_ws"`
	// Layouts are the SYN-ACK option layouts in nmap"s letters (M MSS,
	// N NOP, W window scale, S SACK permitted, T timestamps, L end of list).
	// The first layout carrying exactly the options the kernel put in a
	// SYN-ACK is used, with the kernel"s values. Empty keeps the kernel"s.
	Layouts []string `json:"layouts"`
	// BareRSTAck fills the acknowledgment field of a reset without ACK
	// (an answer to a stray ACK) instead of leaving it zero (A=O).
	BareRSTAck bool `json:"bare_rst_ack"`
	// EchoCodeZero answers an echo request with code 0 whatever its code.
	EchoCodeZero bool `json:"echo_code_zero"`
	// EchoDF copies the request"s DF bit to the echo reply (DFI=S).
	EchoDF bool `json:"echo_df"`
	// OpenNoSYN and OpenSYNFIN answer odd probes to open ports (T2, T3).
	OpenNoSYN  Answer `json:"open_no_syn"`
	OpenSYNFIN Answer `json:"open_syn_fin"`
	// Closed, when set, crafts the reset to probes of closed ports.
	Closed *ClosedRST `json:"closed,omitempty"`
	// MSSEcho advertises the smaller of the kernel"s MSS and the one the
	// SYN offered (Cisco: O2=M578 answers nmap"s MSS 1400).
	MSSEcho bool `json:"mss_echo"`
	// QuoteHeaderOnly cuts the datagram quoted in an ICMP error to its IP
	// header and first 8 bytes (U1 IPL=38), as RFC 792 asks.
	QuoteHeaderOnly bool `json:"quote_header_only"`
}

// profiles are per family. Linux and embedded Linux need none: the
// kernel is Linux and the sysctls give the family"s TTL and options.
var profiles = map[persona.Family]Profile{
	persona.Windows: {
		Family:       persona.Windows,
		Fingerprint:  "Microsoft Windows 10 1709 - 1909",
		TTL:          128,
		DF:           true,
		IPID:         IPIDIncremental,
		Window:       0xFFFF,
		WindowNoWS:   0xFF70,
		Layouts:      []string{"MNWNNS", "MNW", "MNNS", "M"},
		BareRSTAck:   true,
		EchoCodeZero: true,
		OpenNoSYN:    AnswerRSTAck,
		OpenSYNFIN:   AnswerRSTAck,
	},
	persona.WindowsServer: {
		Family:       persona.WindowsServer,
		Fingerprint:  "Microsoft Windows Server 2016",
		TTL:          128,
		DF:           true,
		IPID:         IPIDIncremental,
		Window:       0x2000,
		WindowNoWS:   0x2000,
		Layouts:      []string{"MNWST", "MNWNNT", "MST", "MNWNNS", "MNW", "MNNS", "MNNT", "M"},
		BareRSTAck:   true,
		EchoCodeZero: true,
		OpenNoSYN:    AnswerRSTAck,
		OpenSYNFIN:   AnswerRSTAck,
	},
	persona.BSD: {
		Family:      persona.BSD,
		Fingerprint: "FreeBSD 12.0-RELEASE - 13.0-CURRENT",
		TTL:         64,
		DF:          true,
		IPID:        IPIDZeroDF,
		Window:      0xFFFF,
		WindowNoWS:  0xFFFF,
		Layouts:     []string{"MNWST", "MNWNNT", "MST", "MNWSLL", "MNW", "MSLL", "MNNT", "M"},
		EchoDF:      true,
		OpenSYNFIN:  AnswerAsSYN,
	},
	persona.Cisco: {
		Family:          persona.Cisco,
		Fingerprint:     "Cisco IOS 15",
		TTL:             255,
		DF:              false,
		IPID:            IPIDRandom,
		Window:          0x1020,
		WindowNoWS:      0x1020,
		Layouts:         []string{"M"},
		EchoDF:          true,
		Closed:          &ClosedRST{SeqFromAck: true, AckNoFIN: true},
		MSSEcho:         true,
		QuoteHeaderOnly: true,
	},
}

// Lookup returns the cloak profile of an OS family; false when the family
// needs none (Linux, embedded Linux) or is unknown.
func Lookup(f persona.Family) (Profile, bool) {
	p, ok := profiles[f]
	return p, ok
}

// Families lists the families that have a profile.
func Families() []persona.Family {
	return []persona.Family{persona.BSD, persona.Cisco, persona.Windows, persona.WindowsServer}
}

// queuesOutRST reports whether outbound resets need the rewriter.
func (p *Profile) queuesOutRST() bool { return p.BareRSTAck || !p.DF }

// queuesIn reports whether inbound probes need the rewriter.
func (p *Profile) queuesIn() bool {
	return p.OpenNoSYN != AnswerNone || p.OpenSYNFIN != AnswerNone || p.Closed != nil || p.MSSEcho
}

// queuesEcho reports whether inbound echo requests need the rewriter.
func (p *Profile) queuesEcho() bool { return p.EchoDF }

// layoutFor picks the option layout for the set of options the kernel
// emitted (letters among M, W, S, T in any order).
func (p *Profile) layoutFor(have string) (string, bool) {
	for _, l := range p.Layouts {
		if sameOptions(l, have) {
			return l, true
		}
	}
	return "", false
}

func sameOptions(layout, have string) bool {
	strip := func(s string) string {
		var b strings.Builder
		for _, c := range "MWST" {
			if strings.ContainsRune(s, c) {
				b.WriteRune(c)
			}
		}
		return b.String()
	}
	return strip(layout) == strip(have)
}
