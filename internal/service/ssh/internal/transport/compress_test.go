package transport

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestInflaterPackets feeds a zlib stream packet by packet, flushed as
// Go's writer does (sync flush); the OpenSSH client's partial flush is
// covered by TestAlgorithmsWithOpenSSH in the service package.
func TestInflaterPackets(t *testing.T) {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	var z inflater
	defer z.close()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		msg := make([]byte, r.IntN(40000))
		for j := range msg {
			msg[j] = byte('a' + r.IntN(3)) // compressible, with back references
		}
		buf.Reset()
		w.Write(msg)
		w.Flush()
		out, err := z.decompress(append([]byte(nil), buf.Bytes()...))
		if err != nil || !bytes.Equal(out, msg) {
			t.Fatalf("packet %d: %d bytes, %v", i, len(out), err)
		}
	}
}

func TestDeflaterRoundTrip(t *testing.T) {
	var d deflater
	var z inflater
	defer z.close()
	for _, msg := range []string{"x", "", "hello hello hello hello", string(make([]byte, 70000))} {
		c, err := d.compress([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		out, err := z.decompress(c)
		if err != nil || string(out) != msg {
			t.Fatalf("%d bytes: got %d, %v", len(msg), len(out), err)
		}
	}
}

// FuzzInflate feeds arbitrary bytes to the DEFLATE decoder: no panic, and
// output stops at the bound.
func FuzzInflate(f *testing.F) {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, 9)
	w.Write([]byte("seed seed seed seed data for the fuzzer"))
	w.Close()
	f.Add(b.Bytes())
	f.Add([]byte{0x01, 0x00, 0x00, 0xff, 0xff})
	f.Add([]byte{0x04, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		errStop := errors.New("stop")
		_ = inflateStream(bytes.NewReader(data), func(byte) error {
			if n++; n > 1<<20 {
				return errStop
			}
			return nil
		})
	})
}
