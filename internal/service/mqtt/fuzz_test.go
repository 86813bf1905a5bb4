package mqtt

import (
	"bufio"
	"bytes"
	"testing"
)

func FuzzPacket(f *testing.F) {
	f.Add([]byte("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x02c1"), byte(4))
	f.Add([]byte("\x10\x1b\x00\x04MQTT\x05\xc2\x00\x3c\x03\x21\x00\x10\x00\x00\x00\x05admin\x00\x01x"), byte(5))
	f.Add([]byte("\x82\x08\x00\x01\x00\x03a/#\x01"), byte(4))
	f.Add([]byte("\x82\x09\x00\x01\x00\x00\x03a/#\x01"), byte(5))
	f.Add([]byte("\x34\x0a\x00\x03a/b\x00\x07hi"), byte(4))
	f.Add([]byte("\x32\x0b\x00\x03a/b\x00\x07\x00hi"), byte(5))
	f.Add([]byte("\xa2\x05\x00\x03\x00\x01#"), byte(4))
	f.Fuzz(func(t *testing.T, b []byte, level byte) {
		p, err := readPacket(bufio.NewReader(bytes.NewReader(b)), maxPacket)
		if err != nil {
			return
		}
		if len(p.body) > maxPacket {
			t.Fatalf("body of %d bytes", len(p.body))
		}
		switch p.typ {
		case typeConnect:
			parseConnect(p.body)
		case typePublish:
			if pub, err := parsePublish(p, level); err == nil && pub.qos > 0 {
				again, err := readPacket(bufio.NewReader(bytes.NewReader(pub.encode(level, pub.id))), maxPacket)
				if err != nil {
					t.Fatalf("our PUBLISH does not parse: %v", err)
				}
				if back, err := parsePublish(again, level); err != nil || back.topic != pub.topic || !bytes.Equal(back.payload, pub.payload) {
					t.Fatalf("PUBLISH round trip: %+v %v", back, err)
				}
			}
		case typeSubscribe:
			if _, subs, err := parseSubscribe(p.body, level); err == nil {
				for _, s := range subs {
					if validFilter(s.filter) && s.filter[0] == '#' && matches(s.filter, "$SYS/broker/version") {
						t.Fatalf("%q matches a $SYS topic", s.filter)
					}
					if validFilter(s.filter) && !matches(s.filter, s.filter) && !bytes.ContainsAny([]byte(s.filter), "+#") {
						t.Fatalf("%q does not match itself", s.filter)
					}
				}
			}
		case typeUnsubscribe:
			parseUnsubscribe(p.body, level)
		}
	})
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"#", "a/b", true},
		{"#", "$SYS/broker/version", false},
		{"$SYS/#", "$SYS/broker/version", true},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"+/b", "a/b", true},
		{"+/+", "a/b", true},
		{"a/b", "a/b", true},
		{"a/b", "a/bc", false},
		{"+", "a", true},
		{"+", "/a", false},
		{"a/+/c", "a//c", true},
	} {
		if got := matches(tc.filter, tc.topic); got != tc.want {
			t.Errorf("matches(%q, %q) = %v", tc.filter, tc.topic, got)
		}
	}
	for f, want := range map[string]bool{"#": true, "a/#": true, "a#": false, "a/#/b": false, "+": true, "a+/b": false, "": false} {
		if validFilter(f) != want {
			t.Errorf("validFilter(%q) != %v", f, want)
		}
	}
}
