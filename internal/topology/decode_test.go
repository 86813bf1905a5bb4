package topology

import (
	"errors"
	"strings"
	"testing"
)

const goodYAML = `name: lab
seed: 00112233445566778899aabbccddeeff
lans:
  - name: dmz
    subnet: 10.91.0.0/24
    dmz: true
deckies:
  - name: web
    persona: {os: linux, distro: debian}
    addresses:
      - {lan: dmz, ip: 10.91.0.10}
    services: [http]
    service_config:
      http:
        extra_headers: {X-A: b}
        response_code: 200
`

func TestDecodeGood(t *testing.T) {
	s, err := DecodeBytes([]byte(goodYAML))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Deckies[0].ServiceConfig["http"]["response_code"]; got != int64(200) {
		t.Fatalf("response_code decoded as %#v", got)
	}
	if err := Validate(s, Options{}).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name, doc string
		line      int
		want      string
	}{
		{"unknown top key", "name: x\ncolour: red\n", 2, `unknown key "colour" in topology`},
		{"unknown lan key", "name: x\nlans:\n  - name: a\n    vlan: 3\n", 4, `unknown key "vlan" in lan`},
		{"unknown decky key", "deckies:\n  - name: a\n    ips: []\n", 3, `unknown key "ips" in decky`},
		{"unknown persona key", "deckies:\n  - name: a\n    persona:\n      kernel: 5\n", 4, `unknown key "kernel" in persona`},
		{"wrong type bool", "lans:\n  - name: a\n    dmz: maybe\n", 3, "wrong type"},
		{"wrong type list", "deckies:\n  - name: a\n    services: ssh\n", 3, "a list"},
		{"wrong type mapping", "lans: 3\n", 1, "wrong type"},
		{"duplicate key", "name: a\nname: b\n", 2, "already defined"},
		{"json unknown key", "{\n  \"name\": \"a\",\n  \"bogus\": 1\n}\n", 3, `unknown key "bogus"`},
		{"json wrong type", "{\n  \"name\": \"a\",\n  \"lans\": {\"x\": 1}\n}\n", 3, "wrong type"},
		{"syntax", "name: [a\n", 1, ""},
		{"two documents", "name: a\n---\nname: b\n", 2, "more than one document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBytes([]byte(tc.doc))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("want DecodeError, got %v", err)
			}
			if !errors.Is(err, ErrDecode) {
				t.Error("does not match ErrDecode")
			}
			if de.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", de.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestDecodeRefusesHugeAndEmpty(t *testing.T) {
	if _, err := DecodeBytes(nil); err == nil {
		t.Error("empty input accepted")
	}
	if _, err := DecodeBytes([]byte(strings.Repeat("#", MaxSpecSize+1))); err == nil {
		t.Error("oversized input accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(goodYAML))
	f.Add([]byte(`{"name":"a","lans":[{"name":"d","subnet":"10.0.0.0/24","dmz":true}]}`))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeBytes(data)
		if err != nil {
			return
		}
		// Whatever decodes must validate without panicking and hash
		// deterministically.
		Validate(s, Options{})
		if h1, h2 := s.Hash(), s.Hash(); h1 != h2 {
			t.Fatal("hash not deterministic")
		}
	})
}

func TestJSONRoundTripsControlCharacters(t *testing.T) {
	s := validSpec()
	s.Deckies[0].ServiceConfig["http"]["custom_body"] = "a\x7fb\u0085c\u009fd"
	j, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeBytes(j)
	if err != nil {
		t.Fatalf("JSON output does not read back: %v", err)
	}
	if back.Hash() != s.Hash() {
		t.Fatal("round trip changed the spec")
	}
}
