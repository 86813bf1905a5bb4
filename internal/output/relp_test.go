package output

import (
	"bufio"
	"bytes"
	"testing"
)

func TestReadRELPFrame(t *testing.T) {
	for in, want := range map[string]relpFrame{
		"1 rsp 6 200 OK\n":  {txnr: 1, cmd: "rsp", data: []byte("200 OK")},
		"0 serverclose 0\n": {txnr: 0, cmd: "serverclose"},
		"7 rsp 0 \n":        {txnr: 7, cmd: "rsp"},
	} {
		f, err := readRELPFrame(bufio.NewReader(bytes.NewReader([]byte(in))))
		if err != nil || f.txnr != want.txnr || f.cmd != want.cmd || !bytes.Equal(f.data, want.data) {
			t.Errorf("%q: %+v %v", in, f, err)
		}
	}
	for _, in := range []string{"x rsp 0\n", "1 rsp 99999999\n", "1 rsp 6 200 OKx", "1234567890 rsp 0\n", "1 rsp 3\n", ""} {
		if f, err := readRELPFrame(bufio.NewReader(bytes.NewReader([]byte(in)))); err == nil {
			t.Errorf("%q: accepted as %+v", in, f)
		}
	}
}

// FuzzRELPFrame feeds the frame reader what a hostile receiver might
// send: it must never panic nor read past its bounds.
func FuzzRELPFrame(f *testing.F) {
	for _, s := range []string{"1 rsp 6 200 OK\n", "0 serverclose 0\n", "2 rsp 92 200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n", "3 rsp 5 500 x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReader(bytes.NewReader(b))
		for i := 0; i < 8; i++ {
			fr, err := readRELPFrame(br)
			if err != nil {
				return
			}
			if len(fr.data) > relpMaxFrame || fr.txnr < 0 {
				t.Fatalf("frame out of bounds: %d bytes, txnr %d", len(fr.data), fr.txnr)
			}
		}
	})
}
