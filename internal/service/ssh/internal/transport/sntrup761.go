// DECNET: sntrup761x25519-sha512 (and its @openssh.com alias), the hybrid
// key exchange OpenSSH offers first since 9.0: Streamlined NTRU Prime 761
// (https://ntruprime.cr.yp.to, "NTRU Prime: round 3", section 3) combined
// with X25519 as OpenSSH's PROTOCOL and draft-josefsson-ntruprime-ssh
// describe. Only the server side (encapsulation) is implemented; it is
// checked against the OpenSSH client (internal/service/ssh
// TestAlgorithmsWithOpenSSH) and by a round trip with the decapsulation
// in the tests of this package.

package transport

import (
	"crypto"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/curve25519"
)

// Streamlined NTRU Prime 761 parameters.
const (
	ntruP          = 761
	ntruQ          = 4591
	ntruW          = 286
	ntruQ12        = (ntruQ - 1) / 2
	ntruPKBytes    = 1158 // Rq encoding
	ntruRoundBytes = 1007 // Rounded encoding
	ntruSmallBytes = (ntruP + 3) / 4
	ntruCTBytes    = ntruRoundBytes + 32 // ciphertext plus confirmation
)

// KeyExchangeSNTRUP761 names the hybrid exchange (both spellings).
const (
	KeyExchangeSNTRUP761        = "sntrup761x25519-sha512"
	KeyExchangeSNTRUP761OpenSSH = "sntrup761x25519-sha512@openssh.com"
)

func init() {
	kexAlgoMap[KeyExchangeSNTRUP761] = &sntrup761x25519{}
	kexAlgoMap[KeyExchangeSNTRUP761OpenSSH] = &sntrup761x25519{}
}

// ntruHash is Hash_prefix: the first 32 bytes of SHA-512(b || in...).
func ntruHash(b byte, in ...[]byte) []byte {
	h := sha512.New()
	h.Write([]byte{b})
	for _, x := range in {
		h.Write(x)
	}
	return h.Sum(nil)[:32]
}

// fqFreeze reduces x into [-q12, q12].
func fqFreeze(x int32) int16 {
	r := (x + ntruQ12) % ntruQ
	if r < 0 {
		r += ntruQ
	}
	return int16(r - ntruQ12)
}

// f3Freeze reduces x into {-1, 0, 1}.
func f3Freeze(x int16) int16 {
	r := (int32(x) + 1) % 3
	if r < 0 {
		r += 3
	}
	return int16(r - 1)
}

// ntruDecode is the spec's Decode: it reads len(m) integers, each in
// [0, m[i]), from s.
func ntruDecode(s []byte, m []uint32) ([]uint32, error) {
	out := make([]uint32, len(m))
	_, err := ntruDecodeInto(out, s, m)
	return out, err
}

func ntruDecodeInto(out []uint32, s []byte, m []uint32) ([]byte, error) {
	n := len(m)
	if n == 1 {
		switch {
		case m[0] == 1:
			out[0] = 0
		case m[0] <= 256:
			if len(s) < 1 {
				return nil, errors.New("sntrup761: short encoding")
			}
			out[0] = uint32(s[0]) % m[0]
		default:
			if len(s) < 2 {
				return nil, errors.New("sntrup761: short encoding")
			}
			out[0] = (uint32(s[0]) + uint32(s[1])<<8) % m[0]
		}
		return s, nil
	}
	half := (n + 1) / 2
	m2 := make([]uint32, half)
	bt := make([]uint32, n/2)
	br := make([]uint32, n/2)
	for i := 0; i+1 < n; i += 2 {
		p := m[i] * m[i+1]
		switch {
		case p > 256*16383:
			if len(s) < 2 {
				return nil, errors.New("sntrup761: short encoding")
			}
			bt[i/2], br[i/2] = 65536, uint32(s[0])+256*uint32(s[1])
			s = s[2:]
			m2[i/2] = (((p + 255) >> 8) + 255) >> 8
		case p >= 16384:
			if len(s) < 1 {
				return nil, errors.New("sntrup761: short encoding")
			}
			bt[i/2], br[i/2] = 256, uint32(s[0])
			s = s[1:]
			m2[i/2] = (p + 255) >> 8
		default:
			bt[i/2], br[i/2] = 1, 0
			m2[i/2] = p
		}
	}
	if n%2 == 1 {
		m2[half-1] = m[n-1]
	}
	r2 := make([]uint32, half)
	rest, err := ntruDecodeInto(r2, s, m2)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < n; i += 2 {
		r := br[i/2] + bt[i/2]*r2[i/2]
		out[i] = r % m[i]
		out[i+1] = (r / m[i]) % m[i+1]
	}
	if n%2 == 1 {
		out[n-1] = r2[half-1]
	}
	return rest, nil
}

// ntruEncode is the spec's Encode of r[i] in [0, m[i]).
func ntruEncode(out []byte, r, m []uint32) []byte {
	n := len(m)
	if n == 1 {
		v, mm := r[0], m[0]
		for mm > 1 {
			out = append(out, byte(v))
			v >>= 8
			mm = (mm + 255) >> 8
		}
		return out
	}
	half := (n + 1) / 2
	r2 := make([]uint32, half)
	m2 := make([]uint32, half)
	for i := 0; i+1 < n; i += 2 {
		v := r[i] + r[i+1]*m[i]
		mm := m[i+1] * m[i]
		for mm >= 16384 {
			out = append(out, byte(v))
			v >>= 8
			mm = (mm + 255) >> 8
		}
		r2[i/2], m2[i/2] = v, mm
	}
	if n%2 == 1 {
		r2[half-1], m2[half-1] = r[n-1], m[n-1]
	}
	return ntruEncode(out, r2, m2)
}

func ntruConst(v uint32) []uint32 {
	m := make([]uint32, ntruP)
	for i := range m {
		m[i] = v
	}
	return m
}

// rqMulSmall multiplies h (mod q) by a small polynomial in
// Z_q[x]/(x^p - x - 1).
func rqMulSmall(h []int16, r []int8) []int16 {
	var fg [2*ntruP - 1]int32
	for i := 0; i < ntruP; i++ {
		if r[i] == 0 {
			continue
		}
		ri := int32(r[i])
		for j := 0; j < ntruP; j++ {
			fg[i+j] += int32(h[j]) * ri
		}
	}
	for i := range fg {
		fg[i] = int32(fqFreeze(fg[i]))
	}
	for i := 2*ntruP - 2; i >= ntruP; i-- {
		fg[i-ntruP] = int32(fqFreeze(fg[i-ntruP] + fg[i]))
		fg[i-ntruP+1] = int32(fqFreeze(fg[i-ntruP+1] + fg[i]))
	}
	out := make([]int16, ntruP)
	for i := range out {
		out[i] = int16(fg[i])
	}
	return out
}

// ntruShortRandom returns a random polynomial with w coefficients in
// {-1, 1} and the rest 0 (the spec's Short_random).
func ntruShortRandom(rand io.Reader) ([]int8, error) {
	var buf [4 * ntruP]byte
	if _, err := io.ReadFull(rand, buf[:]); err != nil {
		return nil, err
	}
	l := make([]uint32, ntruP)
	for i := range l {
		v := binary.LittleEndian.Uint32(buf[4*i:])
		if i < ntruW {
			l[i] = v &^ 1
		} else {
			l[i] = v&^3 | 1
		}
	}
	slices.Sort(l)
	out := make([]int8, ntruP)
	for i, v := range l {
		out[i] = int8(v&3) - 1
	}
	return out, nil
}

func ntruSmallEncode(f []int8) []byte {
	out := make([]byte, 0, ntruSmallBytes)
	for i := 0; i < ntruP/4; i++ {
		x := byte(f[4*i]+1) | byte(f[4*i+1]+1)<<2 | byte(f[4*i+2]+1)<<4 | byte(f[4*i+3]+1)<<6
		out = append(out, x)
	}
	return append(out, byte(f[ntruP-1]+1))
}

// sntrup761Encap returns a ciphertext (with its confirmation hash) and a
// 32-byte session key for the public key pk.
func sntrup761Encap(rand io.Reader, pk []byte) (ct, key []byte, err error) {
	if len(pk) != ntruPKBytes {
		return nil, nil, errors.New("sntrup761: bad public key length")
	}
	rv, err := ntruDecode(pk, ntruConst(ntruQ))
	if err != nil {
		return nil, nil, err
	}
	h := make([]int16, ntruP)
	for i, v := range rv {
		h[i] = int16(v) - ntruQ12
	}
	r, err := ntruShortRandom(rand)
	if err != nil {
		return nil, nil, err
	}
	hr := rqMulSmall(h, r)
	rounded := make([]uint32, ntruP)
	for i, v := range hr {
		c := v - f3Freeze(v) // Round to a multiple of 3
		rounded[i] = uint32((int32(c) + ntruQ12) * 10923 >> 15)
	}
	ct = ntruEncode(make([]byte, 0, ntruCTBytes), rounded, ntruConst((ntruQ+2)/3))
	rEnc := ntruSmallEncode(r)
	cache := ntruHash(4, pk)
	ct = append(ct, ntruHash(2, ntruHash(3, rEnc), cache)...)
	key = ntruHash(1, ntruHash(3, rEnc), ct)
	return ct, key, nil
}

// sntrup761x25519 is the server side of sntrup761x25519-sha512.
type sntrup761x25519 struct{}

func (kex *sntrup761x25519) Client(packetConn, io.Reader, *handshakeMagics) (*kexResult, error) {
	return nil, errors.New("ssh: sntrup761x25519-sha512 client side is not implemented")
}

func (kex *sntrup761x25519) Server(c packetConn, rand io.Reader, magics *handshakeMagics, priv AlgorithmSigner, algo string) (*kexResult, error) {
	packet, err := c.readPacket()
	if err != nil {
		return nil, err
	}
	var kexInit kexECDHInitMsg
	if err = Unmarshal(packet, &kexInit); err != nil {
		return nil, err
	}
	if len(kexInit.ClientPubKey) != ntruPKBytes+32 {
		return nil, errors.New("ssh: peer's sntrup761x25519 public value has wrong length")
	}
	ct, kemKey, err := sntrup761Encap(rand, kexInit.ClientPubKey[:ntruPKBytes])
	if err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	var kp curve25519KeyPair
	if err := kp.generate(rand); err != nil {
		return nil, err
	}
	ecdh, err := curve25519.X25519(kp.priv[:], kexInit.ClientPubKey[ntruPKBytes:])
	if err != nil {
		return nil, fmt.Errorf("ssh: peer's sntrup761x25519 public value is not valid: %w", err)
	}
	reply := append(ct, kp.pub[:]...)

	h := sha512.New()
	h.Write(kemKey)
	h.Write(ecdh)
	secret := h.Sum(nil)

	hostKeyBytes := priv.PublicKey().Marshal()
	h.Reset()
	magics.write(h)
	writeString(h, hostKeyBytes)
	writeString(h, kexInit.ClientPubKey)
	writeString(h, reply)
	K := make([]byte, stringLength(len(secret)))
	marshalString(K, secret)
	h.Write(K)
	H := h.Sum(nil)

	sig, err := signAndMarshal(priv, rand, H, algo)
	if err != nil {
		return nil, err
	}
	if err := c.writePacket(Marshal(&kexECDHReplyMsg{EphemeralPubKey: reply, HostKey: hostKeyBytes, Signature: sig})); err != nil {
		return nil, err
	}
	return &kexResult{H: H, K: K, HostKey: hostKeyBytes, Signature: sig, Hash: crypto.SHA512}, nil
}
