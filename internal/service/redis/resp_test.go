package redis

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestReadCommand(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
		err  string
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", []string{"GET", "k"}, ""},
		{"inline", "set a \"b c\\x41\"\r\n", []string{"set", "a", "b cA"}, ""},
		{"inline single", "echo 'it\\'s'\n", []string{"echo", "it's"}, ""},
		{"empty", "\r\n", nil, ""},
		{"zero", "*0\r\n", nil, ""},
		{"unbalanced", "set \"a\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"too many", "*1025\r\n", nil, "Protocol error: invalid multibulk length"},
		{"bulk too big", "*1\r\n$524289\r\n", nil, "Protocol error: invalid bulk length"},
		{"negative bulk", "*1\r\n$-1\r\n", nil, "Protocol error: invalid bulk length"},
		{"no dollar", "*1\r\n:1\r\n", nil, "Protocol error: expected '$', got ':'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args, err := readCommand(bufio.NewReader(bytes.NewBufferString(tc.in)))
			if tc.err != "" {
				var pe *protoError
				if !errors.As(err, &pe) || pe.Error() != tc.err {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(args) != len(tc.want) {
				t.Fatalf("args = %q, want %q", args, tc.want)
			}
			for i := range args {
				if string(args[i]) != tc.want[i] {
					t.Errorf("arg %d = %q, want %q", i, args[i], tc.want[i])
				}
			}
		})
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "abc", true}, {"a*c", "abbbc", true}, {"a?c", "abc", true}, {"a[bx]c", "axc", true},
		{"a[^b]c", "abc", false}, {"a[a-c]*", "abz", true}, {"h\\*", "h*", true}, {"dir", "dbfilename", false},
		{"*name", "dbfilename", true}, {"", "", true}, {"a", "", false},
	}
	for _, tc := range cases {
		if got := globMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

// FuzzReadCommand feeds arbitrary bytes to the request parser: it must not
// panic, must stay within its bounds and must make progress.
func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "PING\r\n", "set a \"b\\x41\" 'c'\n", "*1\r\n$-1\r\n", "*3\r\n$3\r\nSET\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for range 1000 {
			args, err := readCommand(br)
			if err != nil {
				var pe *protoError
				if !errors.As(err, &pe) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			if len(args) > maxArgs {
				t.Fatalf("%d args", len(args))
			}
			total := 0
			for _, a := range args {
				if len(a) > maxBulk && len(a) > maxInline {
					t.Fatalf("arg of %d bytes", len(a))
				}
				total += len(a)
			}
			if total > maxRequest {
				t.Fatalf("request of %d bytes", total)
			}
		}
	})
}

func FuzzSplitArgs(f *testing.F) {
	f.Add([]byte(`set "a\x41" 'b\'c' d`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = splitArgs(data)
	})
}

func FuzzGlob(f *testing.F) {
	f.Add("a[b-d]*\\?", "abzz?")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 256 || len(s) > 256 {
			return
		}
		_ = globMatch(p, s)
	})
}
