package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 NTLM's NT hash is MD4: there is no NTLM without it
)

// clientFlags are a Windows 10 client's NEGOTIATE flags.
const clientFlags = FlagUnicode | FlagOEM | FlagRequestTarget | FlagNTLM | FlagAlwaysSign | FlagExtendedSession |
	FlagTargetInfo | FlagVersion | Flag128 | FlagKeyExchange | Flag56

// ClientNegotiate is the NEGOTIATE a Windows 10 client sends: what a
// decky offers a poisoner that asks it to authenticate.
func ClientNegotiate() []byte {
	b := append([]byte(nil), Signature...)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, clientFlags)
	b = append(b, make([]byte, 16)...)                         // no domain, no workstation
	return append(b, 10, 0, 0x61, 0x4a, 0, 0, 0, ntlmRevision) // 10.0.19041
}

// ClientAuthenticate answers a CHALLENGE with an NTLMv2 AUTHENTICATE for
// the credential, as a Windows client would: the honey credential a
// poisoner takes away, to be recognised wherever it is used.
func ClientAuthenticate(challenge []byte, user, domain, password, workstation string) ([]byte, error) {
	if len(challenge) < 48 || string(challenge[:8]) != string(Signature) || le32(challenge[8:]) != 2 {
		return nil, ErrMalformed
	}
	server := challenge[24:32]
	var info []byte
	if n, off := int(binary.LittleEndian.Uint16(challenge[40:])), int(le32(challenge[44:])); n > 0 && off+n <= len(challenge) {
		info = challenge[off : off+n]
	}
	h := md4.New()
	h.Write(utf16le(password))
	m := hmac.New(md5.New, h.Sum(nil))
	m.Write(utf16le(strings.ToUpper(user) + domain))
	owf := m.Sum(nil)
	client := make([]byte, 8)
	rand.Read(client)
	blob := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	blob = binary.LittleEndian.AppendUint64(blob, FileTime(time.Now()))
	blob = append(blob, client...)
	blob = append(blob, 0, 0, 0, 0)
	blob = append(blob, info...)
	blob = append(blob, 0, 0, 0, 0)
	proof := hmac.New(md5.New, owf)
	proof.Write(server)
	proof.Write(blob)
	nt := append(proof.Sum(nil), blob...)
	lm := hmac.New(md5.New, owf)
	lm.Write(server)
	lm.Write(client)
	fields := [][]byte{append(lm.Sum(nil), client...), nt, utf16le(domain), utf16le(user), utf16le(workstation), nil}
	msg := make([]byte, 72)
	copy(msg, Signature)
	binary.LittleEndian.PutUint32(msg[8:], 3)
	off := len(msg)
	for i, f := range fields {
		putField(msg[12+8*i:], len(f), off)
		off += len(f)
	}
	binary.LittleEndian.PutUint32(msg[60:], clientFlags&^FlagKeyExchange)
	copy(msg[64:], []byte{10, 0, 0x61, 0x4a, 0, 0, 0, ntlmRevision})
	for _, f := range fields {
		msg = append(msg, f...)
	}
	return msg, nil
}
