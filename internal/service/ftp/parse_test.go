package ftp

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	cases := []struct{ in, verb, arg string }{
		{"USER anonymous\r\n", "USER", "anonymous"},
		{"pass  two spaces\r\n", "PASS", " two spaces"},
		{"QUIT\n", "QUIT", ""},
		{"\r\n", "", ""},
		{"retr a b c\r\r\n", "RETR", "a b c"},
	}
	for _, tc := range cases {
		v, a := parseCommand([]byte(tc.in))
		if v != tc.verb || a != tc.arg {
			t.Errorf("parseCommand(%q) = %q, %q", tc.in, v, a)
		}
	}
}

func TestParsePort(t *testing.T) {
	cases := []struct {
		in       string
		extended bool
		want     string
	}{
		{"127,0,0,1,4,1", false, "127.0.0.1:1025"},
		{"|1|10.0.0.2|2121|", true, "10.0.0.2:2121"},
		{"|2|::1|2121|", true, "[::1]:2121"},
		{"1,2,3,4,5", false, ""},
		{"1,2,3,256,1,1", false, ""},
		{"|3|x|1|", true, ""},
		{"", true, ""},
	}
	for _, tc := range cases {
		ap, ok := parsePort(tc.in, tc.extended)
		got := ""
		if ok {
			got = ap.String()
		}
		if got != tc.want {
			t.Errorf("parsePort(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReadLineBounded(t *testing.T) {
	long := strings.Repeat("A", 3*maxLine) + "\r\nNOOP\r\n"
	br := bufio.NewReaderSize(strings.NewReader(long), maxLine)
	l, err := readLine(br)
	if err != nil || len(l) > maxLine {
		t.Fatalf("first line %d bytes, %v", len(l), err)
	}
	l, err = readLine(br)
	if err != nil || string(l) != "NOOP\r\n" {
		t.Fatalf("second line %q, %v", l, err)
	}
}

// FuzzCommandLine feeds arbitrary control-channel bytes to the line reader
// and the command parser: no panic, lines stay within maxLine.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"USER anonymous\r\nPASS a@b\r\n", "PORT 127,0,0,1,4,1\r\n", "EPRT |1|127.0.0.1|2000|\r\n", "\xff\xf4\xff\xf2ABOR\r\n", "LIST -la /\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), maxLine)
		for {
			l, err := readLine(br)
			if err != nil {
				return
			}
			if len(l) > maxLine {
				t.Fatalf("line of %d bytes", len(l))
			}
			verb, arg := parseCommand(l)
			if len(verb) > 32 {
				t.Fatalf("verb of %d bytes", len(verb))
			}
			_, _ = parsePort(arg, false)
			if ap, ok := parsePort(arg, true); ok && !ap.Addr().IsValid() {
				t.Fatalf("invalid address accepted from %q", arg)
			}
			_ = clean(arg)
		}
	})
}

func FuzzParsePort(f *testing.F) {
	f.Add("127,0,0,1,4,1", false)
	f.Add("|1|127.0.0.1|2000|", true)
	f.Fuzz(func(t *testing.T, s string, extended bool) {
		ap, ok := parsePort(s, extended)
		if ok && ap.Addr() == (netip.Addr{}) {
			t.Fatal("zero address accepted")
		}
	})
}
