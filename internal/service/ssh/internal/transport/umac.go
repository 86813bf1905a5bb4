// DECNET: UMAC (RFC 4418) for the umac-64@openssh.com and
// umac-128@openssh.com MACs and their -etm variants, which OpenSSH offers by
// default. Written from the RFC; the SSH binding follows OpenSSH's
// PROTOCOL: the 16-byte MAC key is the UMAC key, the nonce is the packet
// sequence number as a 64-bit big-endian integer, and the message is what
// the HMAC modes authenticate after the sequence number. Checked against the
// OpenSSH client (internal/service/ssh TestAlgorithmsWithOpenSSH).

package transport

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"hash"
	"math/bits"
)

const (
	umacKeyLen = 16
	umacL1Len  = 1024
	p64        = 0xFFFFFFFFFFFFFFC5 // 2^64 - 59
	p36        = 0x0000000FFFFFFFFB // 2^36 - 5
)

// umacKDF is the RFC 4418 KDF: AES in counter mode over
// index (8 bytes) || counter (8 bytes).
func umacKDF(b cipher.Block, index byte, n int) []byte {
	out := make([]byte, 0, n+aes.BlockSize)
	var in, blk [aes.BlockSize]byte
	in[7] = index
	for i := uint64(1); len(out) < n; i++ {
		binary.BigEndian.PutUint64(in[8:], i)
		b.Encrypt(blk[:], in[:])
		out = append(out, blk[:]...)
	}
	return out[:n]
}

// umacHash is UMAC as a hash.Hash for the transport: the first four bytes
// written after Reset are the sequence number (the nonce), the rest the
// message.
type umacHash struct {
	tagLen  int
	streams int
	nhKey   []uint32
	polyKey []uint64
	ipKey   []uint64
	ipTrans []uint32
	pdf     cipher.Block

	seq  [4]byte
	nseq int
	msg  []byte
}

func newUMAC(key []byte, tagLen int) hash.Hash {
	k, err := aes.NewCipher(key[:umacKeyLen])
	if err != nil {
		panic("umac: " + err.Error()) // key length is fixed by macMode
	}
	u := &umacHash{tagLen: tagLen, streams: tagLen / 4}
	pdfKey := umacKDF(k, 0, umacKeyLen)
	u.pdf, _ = aes.NewCipher(pdfKey)

	nh := umacKDF(k, 1, umacL1Len+16*(u.streams-1))
	u.nhKey = make([]uint32, len(nh)/4)
	for i := range u.nhKey {
		u.nhKey[i] = binary.BigEndian.Uint32(nh[4*i:])
	}
	l2 := umacKDF(k, 2, u.streams*24)
	l31 := umacKDF(k, 3, u.streams*64)
	l32 := umacKDF(k, 4, u.streams*4)
	for i := 0; i < u.streams; i++ {
		u.polyKey = append(u.polyKey, binary.BigEndian.Uint64(l2[24*i:])&0x01ffffff01ffffff)
		for j := 0; j < 4; j++ {
			// L3 keys 4..7 of each stream's 8; keys 0..3 meet the zero
			// half of the 16-byte L2 output and never matter.
			u.ipKey = append(u.ipKey, binary.BigEndian.Uint64(l31[64*i+32+8*j:])%p36)
		}
		u.ipTrans = append(u.ipTrans, binary.BigEndian.Uint32(l32[4*i:]))
	}
	return u
}

func (u *umacHash) Reset()         { u.nseq = 0; u.msg = u.msg[:0] }
func (u *umacHash) Size() int      { return u.tagLen }
func (u *umacHash) BlockSize() int { return 32 }

func (u *umacHash) Write(p []byte) (int, error) {
	n := len(p)
	for u.nseq < 4 && len(p) > 0 {
		u.seq[u.nseq] = p[0]
		u.nseq++
		p = p[1:]
	}
	u.msg = append(u.msg, p...)
	return n, nil
}

// nh is NH over one L1 chunk (at most 1024 bytes) with the key words of one
// stream, plus the chunk's bit length.
func umacNH(key []uint32, chunk []byte) uint64 {
	h := uint64(len(chunk)) * 8
	padded := (len(chunk) + 31) &^ 31
	if padded == 0 {
		padded = 32
	}
	var buf [umacL1Len]byte
	copy(buf[:], chunk)
	for j := 0; j < padded/4; j += 8 {
		for k := 0; k < 4; k++ {
			m1 := binary.LittleEndian.Uint32(buf[4*(j+k):])
			m2 := binary.LittleEndian.Uint32(buf[4*(j+k+4):])
			h += uint64(m1+key[j+k]) * uint64(m2+key[j+k+4])
		}
	}
	return h
}

// mulAddP64 returns (a*k + d) mod p64.
func mulAddP64(a, k, d uint64) uint64 {
	hi, lo := bits.Mul64(a, k)
	lo, c := bits.Add64(lo, d, 0)
	hi += c
	_, r := bits.Div64(hi%p64, lo, p64)
	return r
}

func umacPoly(acc, key, m uint64) uint64 {
	if m>>32 == 0xffffffff {
		acc = mulAddP64(acc, key, p64-1)
		return mulAddP64(acc, key, m-59)
	}
	return mulAddP64(acc, key, m)
}

func umacL3(keys []uint64, v uint64) uint32 {
	t := keys[0]*(v>>48) + keys[1]*(v>>32&0xffff) + keys[2]*(v>>16&0xffff) + keys[3]*(v&0xffff)
	return uint32(t % p36)
}

func (u *umacHash) Sum(b []byte) []byte {
	tag := make([]byte, u.tagLen)
	for i := 0; i < u.streams; i++ {
		key := u.nhKey[4*i:]
		var v uint64
		if len(u.msg) <= umacL1Len {
			v = umacNH(key, u.msg)
		} else {
			acc := uint64(1)
			for off := 0; off < len(u.msg); off += umacL1Len {
				acc = umacPoly(acc, u.polyKey[i], umacNH(key, u.msg[off:min(off+umacL1Len, len(u.msg))]))
			}
			v = acc
		}
		binary.BigEndian.PutUint32(tag[4*i:], umacL3(u.ipKey[4*i:4*i+4], v)^u.ipTrans[i])
	}
	var nonce, pad [aes.BlockSize]byte
	copy(nonce[4:8], u.seq[:])
	idx := 0
	if u.tagLen == 8 {
		idx = int(nonce[7] & 1)
		nonce[7] &^= 1
	}
	u.pdf.Encrypt(pad[:], nonce[:])
	for i := range tag {
		tag[i] ^= pad[idx*u.tagLen+i]
	}
	return append(b, tag...)
}
