package smb

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 the NT hash is MD4
)

// ntowfv2 is NTOWFv2 (MS-NLMP 3.3.2).
func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	m := hmac.New(md5.New, h.Sum(nil))
	m.Write(utf16le(strings.ToUpper(user) + domain))
	return m.Sum(nil)
}

// verifyNTLMv2 checks an NTLMv2 response against a password and returns
// the session base key when it matches. Clients compute NTOWFv2 with the
// domain they sent, or an empty one: both are tried.
func verifyNTLMv2(password, user, domain string, challenge, nt []byte) ([]byte, bool) {
	if len(nt) <= 16 {
		return nil, false
	}
	for _, d := range []string{domain, ""} {
		key := ntowfv2(password, user, d)
		m := hmac.New(md5.New, key)
		m.Write(challenge)
		m.Write(nt[16:])
		proof := m.Sum(nil)
		if subtle.ConstantTimeCompare(proof, nt[:16]) == 1 {
			m := hmac.New(md5.New, key)
			m.Write(proof)
			return m.Sum(nil), true
		}
	}
	return nil, false
}

// exportedKey is the session key both sides end with: the base key, or
// the random key the client sent encrypted under it (KEY_EXCH).
func exportedKey(base, encrypted []byte, keyExch bool) []byte {
	if !keyExch || len(encrypted) != 16 {
		return base
	}
	c, _ := rc4.NewCipher(base)
	out := make([]byte, 16)
	c.XORKeyStream(out, encrypted)
	return out
}

// kdf is SP800-108 in counter mode with HMAC-SHA256, 128 bits out, as
// SMB 3 derives its keys.
func kdf(key []byte, label, context string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte{0, 0, 0, 1})
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(context))
	m.Write([]byte{0, 0, 0, 128})
	return m.Sum(nil)[:16]
}

// aesCMAC is AES-CMAC (RFC 4493).
func aesCMAC(key, msg []byte) []byte {
	c, err := aes.NewCipher(key)
	if err != nil {
		return make([]byte, 16)
	}
	var l, k1, k2 [16]byte
	c.Encrypt(l[:], l[:])
	shift := func(dst, src *[16]byte) {
		carry := src[0] >> 7
		for i := 0; i < 15; i++ {
			dst[i] = src[i]<<1 | src[i+1]>>7
		}
		dst[15] = src[15] << 1
		if carry != 0 {
			dst[15] ^= 0x87
		}
	}
	shift(&k1, &l)
	shift(&k2, &k1)
	n := (len(msg) + 15) / 16
	complete := n > 0 && len(msg)%16 == 0
	if n == 0 {
		n = 1
	}
	var last [16]byte
	tail := msg[(n-1)*16:]
	if complete {
		for i := range last {
			last[i] = tail[i] ^ k1[i]
		}
	} else {
		copy(last[:], tail)
		last[len(tail)] = 0x80
		for i := range last {
			last[i] ^= k2[i]
		}
	}
	var x [16]byte
	for i := 0; i < n-1; i++ {
		for j := range x {
			x[j] ^= msg[i*16+j]
		}
		c.Encrypt(x[:], x[:])
	}
	for j := range x {
		x[j] ^= last[j]
	}
	c.Encrypt(x[:], x[:])
	return x[:]
}

// Signing algorithms of SMB 3.1.1's signing capabilities context.
const (
	signHMACSHA256 = 0
	signAESCMAC    = 1
	signAESGMAC    = 2
)

// sign computes an SMB2 message's signature with its signature field
// zeroed (the caller zeroes it).
func sign(algo int, key, msg []byte) []byte {
	switch algo {
	case signAESCMAC:
		return aesCMAC(key, msg)
	case signAESGMAC:
		c, err := aes.NewCipher(key)
		if err != nil {
			return make([]byte, 16)
		}
		g, _ := cipher.NewGCM(c)
		nonce := make([]byte, 12)
		copy(nonce, msg[24:32]) // MessageId
		flags := u32(msg, 16)
		if flags&flagResponse != 0 {
			nonce[8] |= 1
		}
		if u16(msg, 12) == cmdCancel {
			nonce[8] |= 2
		}
		return g.Seal(nil, nonce, nil, msg)
	default:
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		return m.Sum(nil)[:16]
	}
}

// ntlmsspSign is the NTLMSSP signature (extended session security) the
// server puts on SPNEGO's mechListMIC: HMAC-MD5 under the server signing
// key, sealed with the server's RC4 handle when keys were exchanged.
func ntlmsspSign(session []byte, keyExch bool, seq uint32, msg []byte) []byte {
	md := func(parts ...[]byte) []byte {
		h := md5.New()
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	signKey := md(session, []byte("session key to server-to-client signing key magic constant\x00"))
	sealKey := md(session, []byte("session key to server-to-client sealing key magic constant\x00"))
	seqb := le.AppendUint32(nil, seq)
	m := hmac.New(md5.New, signKey)
	m.Write(seqb)
	m.Write(msg)
	sum := m.Sum(nil)[:8]
	if keyExch {
		c, _ := rc4.NewCipher(sealKey)
		c.XORKeyStream(sum, sum)
	}
	out := le.AppendUint32(nil, 1)
	out = append(out, sum...)
	return append(out, seqb...)
}

// ccm is AES-CCM (RFC 3610) with an 11-byte nonce and a 16-byte tag, as
// SMB 3 encrypts.
type ccm struct{ b cipher.Block }

func (c ccm) NonceSize() int { return 11 }
func (c ccm) Overhead() int  { return 16 }

func (c ccm) mac(nonce, plain, aad []byte) [16]byte {
	var x, blk [16]byte
	blk[0] = 0x7b // Adata, M=16, L=4
	copy(blk[1:12], nonce)
	le32be(blk[12:], uint32(len(plain)))
	c.b.Encrypt(x[:], blk[:])
	feed := func(data []byte) {
		for len(data) > 0 {
			n := copy(blk[:], data)
			clear(blk[n:])
			for i := range x {
				x[i] ^= blk[i]
			}
			c.b.Encrypt(x[:], x[:])
			data = data[n:]
		}
	}
	a := append([]byte{byte(len(aad) >> 8), byte(len(aad))}, aad...)
	feed(a)
	feed(plain)
	return x
}

func (c ccm) ctr(nonce []byte, i uint32) [16]byte {
	var a, s [16]byte
	a[0] = 3
	copy(a[1:12], nonce)
	le32be(a[12:], i)
	c.b.Encrypt(s[:], a[:])
	return s
}

func (c ccm) xor(nonce, dst, src []byte) {
	for i := 0; i < len(src); i += 16 {
		s := c.ctr(nonce, uint32(i/16+1))
		for j := i; j < len(src) && j < i+16; j++ {
			dst[j] = src[j] ^ s[j-i]
		}
	}
}

func (c ccm) Seal(dst, nonce, plain, aad []byte) []byte {
	t := c.mac(nonce, plain, aad)
	s0 := c.ctr(nonce, 0)
	out := make([]byte, len(plain), len(plain)+16)
	c.xor(nonce, out, plain)
	for i := range t {
		t[i] ^= s0[i]
	}
	return append(dst, append(out, t[:]...)...)
}

func (c ccm) Open(dst, nonce, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 16 {
		return nil, errDecrypt
	}
	body, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	plain := make([]byte, len(body))
	c.xor(nonce, plain, body)
	t := c.mac(nonce, plain, aad)
	s0 := c.ctr(nonce, 0)
	for i := range t {
		t[i] ^= s0[i]
	}
	if subtle.ConstantTimeCompare(t[:], tag) != 1 {
		return nil, errDecrypt
	}
	return append(dst, plain...), nil
}

func le32be(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

var errDecrypt = errors.New("decrypt")

// aead returns the cipher of an SMB 3 encryption algorithm under key.
func aead(cipherID uint16, key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	switch cipherID {
	case cipherAES128CCM, cipherAES256CCM:
		return ccm{b}, nil
	case cipherAES128GCM, cipherAES256GCM:
		return cipher.NewGCM(b)
	}
	return nil, errDecrypt
}

// kdfN is kdf with an output of n bytes (32 for the 256-bit ciphers).
func kdfN(key []byte, label, context string, n int) []byte {
	if n == 16 {
		return kdf(key, label, context)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte{0, 0, 0, 1})
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(context))
	m.Write([]byte{0, 0, 1, 0})
	return m.Sum(nil)[:n]
}
