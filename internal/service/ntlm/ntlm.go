package ntlm

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
)

// Signature starts every NTLMSSP message.
var Signature = []byte("NTLMSSP\x00")

// Negotiate flags (MS-NLMP 2.2.2.5).
const (
	FlagUnicode         = 0x00000001
	FlagOEM             = 0x00000002
	FlagRequestTarget   = 0x00000004
	FlagSign            = 0x00000010
	FlagSeal            = 0x00000020
	FlagLMKey           = 0x00000080
	FlagNTLM            = 0x00000200
	FlagAnonymous       = 0x00000800
	FlagAlwaysSign      = 0x00008000
	FlagTargetDomain    = 0x00010000
	FlagTargetServer    = 0x00020000
	FlagExtendedSession = 0x00080000
	FlagIdentify        = 0x00100000
	FlagTargetInfo      = 0x00800000
	FlagVersion         = 0x02000000
	Flag128             = 0x20000000
	FlagKeyExchange     = 0x40000000
	Flag56              = 0x80000000
)

// AV pair ids of the target information.
const (
	avEOL           = 0
	avNbComputer    = 1
	avNbDomain      = 2
	avDNSComputer   = 3
	avDNSDomain     = 4
	avDNSTree       = 5
	avFlags         = 6
	avTimestamp     = 7
	avTargetName    = 9
	maxMessage      = 64 << 10
	maxField        = 16 << 10
	ntlmRevision    = 15
	filetimeEpoch   = 116444736000000000 // 1601 to 1970 in 100 ns
	ntlmV1Response  = 24
	ntProofStrBytes = 16
)

// ErrMalformed is returned for a message that is not the NTLMSSP message
// expected.
var ErrMalformed = errors.New("malformed NTLMSSP message")

// Server answers NTLM negotiations as one machine.
type Server struct {
	ID persona.WindowsIdentity
	// Version is the VERSION structure sent (major, minor, build); nil
	// sends the identity's, and none when the identity has no version.
	Version *[3]int
	// Standalone says the machine is in no domain: the target is the
	// server, not a domain (a workgroup Windows or a standalone Samba).
	Standalone bool
	Now        func() time.Time
}

// Exchange is one negotiation in progress: the challenge sent, to read
// the answer against.
type Exchange struct {
	Challenge [8]byte
	Flags     uint32
	// ClientFlags and ClientVersion are what the NEGOTIATE said: a
	// fingerprint of the client's NTLM stack.
	ClientFlags   uint32
	ClientVersion string
}

// Challenge answers a NEGOTIATE message with a CHALLENGE message carrying
// a fresh server challenge.
func (s *Server) Challenge(negotiate []byte) (*Exchange, []byte, error) {
	if len(negotiate) < 16 || len(negotiate) > maxMessage || !bytes.Equal(negotiate[:8], Signature) || le32(negotiate[8:]) != 1 {
		return nil, nil, ErrMalformed
	}
	x := &Exchange{ClientFlags: le32(negotiate[12:])}
	if x.ClientFlags&FlagVersion != 0 && len(negotiate) >= 40 {
		v := negotiate[32:40]
		x.ClientVersion = fmt.Sprintf("%d.%d.%d", v[0], v[1], binary.LittleEndian.Uint16(v[2:]))
	}
	rand.Read(x.Challenge[:])
	return x, s.challenge(x), nil
}

// challenge builds the CHALLENGE: the flags Windows answers with, those
// the client asked for among the optional ones.
func (s *Server) challenge(x *Exchange) []byte {
	c := x.ClientFlags
	flags := uint32(FlagRequestTarget | FlagNTLM | FlagAlwaysSign | FlagTargetInfo)
	for _, f := range []uint32{FlagSign, FlagSeal, FlagExtendedSession, Flag128, FlagKeyExchange, Flag56, FlagIdentify} {
		flags |= c & f
	}
	if c&FlagUnicode != 0 || c&FlagOEM == 0 {
		flags |= FlagUnicode
	} else {
		flags |= FlagOEM
	}
	if flags&FlagExtendedSession == 0 {
		flags |= c & FlagLMKey
	}
	target := s.ID.NetBIOSDomain
	if s.Standalone || s.ID.DNSDomain == "" {
		flags |= FlagTargetServer
		target = s.ID.NetBIOSName
	} else {
		flags |= FlagTargetDomain
	}
	version := s.version()
	if version != nil {
		flags |= FlagVersion
	}
	x.Flags = flags
	str := func(v string) []byte {
		if flags&FlagUnicode != 0 {
			return utf16le(v)
		}
		return []byte(strings.ToUpper(v))
	}
	info := s.targetInfo()
	name := str(target)
	head := 48
	if version != nil {
		head = 56
	}
	msg := make([]byte, head, head+len(name)+len(info))
	copy(msg, Signature)
	binary.LittleEndian.PutUint32(msg[8:], 2)
	putField(msg[12:], len(name), head)
	binary.LittleEndian.PutUint32(msg[20:], flags)
	copy(msg[24:], x.Challenge[:])
	putField(msg[40:], len(info), head+len(name))
	if version != nil {
		copy(msg[48:], version)
	}
	msg = append(msg, name...)
	return append(msg, info...)
}

func (s *Server) version() []byte {
	v := [3]int{int(s.ID.Major), int(s.ID.Minor), int(s.ID.Build)}
	if s.Version != nil {
		v = *s.Version
	}
	if v == [3]int{} {
		return nil
	}
	b := []byte{byte(v[0]), byte(v[1]), 0, 0, 0, 0, 0, ntlmRevision}
	binary.LittleEndian.PutUint16(b[2:], uint16(v[2]))
	return b
}

// targetInfo lists the names in the order Windows writes them, then the
// time, as a FILETIME.
func (s *Server) targetInfo() []byte {
	var b []byte
	pair := func(id uint16, v []byte) {
		b = binary.LittleEndian.AppendUint16(b, id)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	w := s.ID
	pair(avNbDomain, utf16le(w.NetBIOSDomain))
	pair(avNbComputer, utf16le(w.NetBIOSName))
	pair(avDNSDomain, utf16le(w.DNSDomain))
	pair(avDNSComputer, utf16le(w.DNSName))
	if w.DNSForest != "" {
		pair(avDNSTree, utf16le(w.DNSForest))
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	pair(avTimestamp, binary.LittleEndian.AppendUint64(nil, FileTime(now())))
	pair(avEOL, nil)
	return b
}

// FileTime is t in Windows' 100 ns ticks since 1601.
func FileTime(t time.Time) uint64 { return uint64(t.UnixNano()/100) + filetimeEpoch }

func putField(b []byte, n, offset int) {
	binary.LittleEndian.PutUint16(b, uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(offset))
}

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// Auth is what an AUTHENTICATE message told.
type Auth struct {
	User, Domain, Workstation string
	LM, NT                    []byte
	Flags                     uint32
	Anonymous                 bool
	// Version is "v1" or "v2" for the NT response's kind.
	Version string
}

// Authenticate reads an AUTHENTICATE message of this exchange.
func (x *Exchange) Authenticate(msg []byte) (*Auth, error) {
	if len(msg) < 64 || len(msg) > maxMessage || !bytes.Equal(msg[:8], Signature) || le32(msg[8:]) != 3 {
		return nil, ErrMalformed
	}
	field := func(at int) ([]byte, error) {
		n, off := int(binary.LittleEndian.Uint16(msg[at:])), int(le32(msg[at+4:]))
		if n == 0 {
			return nil, nil
		}
		if n > maxField || off < 0 || off+n > len(msg) {
			return nil, ErrMalformed
		}
		return msg[off : off+n], nil
	}
	a := &Auth{Flags: le32(msg[60:])}
	var parts [5][]byte
	for i, at := range []int{12, 20, 28, 36, 44} {
		f, err := field(at)
		if err != nil {
			return nil, err
		}
		parts[i] = f
	}
	a.LM, a.NT = parts[0], parts[1]
	text := func(b []byte) string {
		if a.Flags&FlagUnicode != 0 {
			return fromUTF16(b)
		}
		return string(b)
	}
	a.Domain, a.User, a.Workstation = text(parts[2]), text(parts[3]), text(parts[4])
	switch {
	case a.User == "" && len(a.NT) == 0 && len(a.LM) <= 1:
		a.Anonymous = true
	case len(a.NT) == ntlmV1Response:
		a.Version = "v1"
	case len(a.NT) > ntlmV1Response:
		a.Version = "v2"
	}
	return a, nil
}

// CrackLine returns the response as a hashcat line: NetNTLMv2 (mode
// 5600) or NetNTLMv1 (5500, extended session security included through
// the LM field); false for an anonymous or LM-only logon.
func (x *Exchange) CrackLine(a *Auth) (line string, mode int, ok bool) {
	chal := hex.EncodeToString(x.Challenge[:])
	switch a.Version {
	case "v2":
		return fmt.Sprintf("%s::%s:%s:%s:%s", a.User, a.Domain, chal,
			hex.EncodeToString(a.NT[:ntProofStrBytes]), hex.EncodeToString(a.NT[ntProofStrBytes:])), 5600, true
	case "v1":
		return fmt.Sprintf("%s::%s:%s:%s:%s", a.User, a.Domain, hex.EncodeToString(a.LM), hex.EncodeToString(a.NT), chal), 5500, true
	}
	return "", 0, false
}

// Credential is the event credential of an AUTHENTICATE: the NT response
// as the secret, the challenge, and the hashcat line.
func (x *Exchange) Credential(a *Auth, method string) *event.Credential {
	principal := a.User
	if a.Domain != "" {
		principal = a.Domain + `\` + a.User
	}
	kind := "netntlm" + a.Version
	if a.Anonymous {
		kind = "ntlm_anonymous"
	}
	c := event.NewCredential(kind, method, principal, a.NT, false)
	c.Challenge = hex.EncodeToString(x.Challenge[:])
	c.Material = map[string]any{"user": a.User, "domain": a.Domain, "workstation": a.Workstation,
		"client_flags": fmt.Sprintf("0x%08x", x.ClientFlags), "client_version": x.ClientVersion}
	if line, mode, ok := x.CrackLine(a); ok {
		c.CrackFormat, c.CrackMode, c.CrackLine = "hashcat", mode, line
	}
	return c
}
