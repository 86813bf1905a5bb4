package transport

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"slices"
	"testing"
)

// TestNTRUEncodeRoundTrip checks the spec's Encode/Decode pair on the
// moduli sntrup761 uses, and the sizes of its encodings.
func TestNTRUEncodeRoundTrip(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	for _, tc := range []struct {
		mod  uint32
		size int
	}{{ntruQ, ntruPKBytes}, {(ntruQ + 2) / 3, ntruRoundBytes}} {
		m := ntruConst(tc.mod)
		v := make([]uint32, ntruP)
		for i := range v {
			v[i] = r.Uint32N(tc.mod)
		}
		enc := ntruEncode(nil, v, m)
		if len(enc) != tc.size {
			t.Errorf("mod %d: %d bytes, want %d", tc.mod, len(enc), tc.size)
		}
		dec, err := ntruDecode(enc, m)
		if err != nil || !slices.Equal(dec, v) {
			t.Errorf("mod %d: round trip failed (%v)", tc.mod, err)
		}
	}
}

func TestSNTRUPEncapShape(t *testing.T) {
	pk := make([]byte, ntruPKBytes)
	rand.Read(pk)
	ct, key, err := sntrup761Encap(rand.Reader, pk)
	if err != nil || len(ct) != ntruCTBytes || len(key) != 32 {
		t.Fatalf("ct %d key %d err %v", len(ct), len(key), err)
	}
	r, _ := ntruShortRandom(rand.Reader)
	w := 0
	for _, c := range r {
		if c != 0 {
			w++
		}
	}
	if w != ntruW {
		t.Errorf("short polynomial weight %d", w)
	}
}
