package mqtt_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/mqtt"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func s16(b string) []byte { return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...) }

func pkt(first byte, body []byte) []byte { return append([]byte{first, byte(len(body))}, body...) }

// connectPacket builds a CONNECT; user or password nil means absent.
func connectPacket(name string, level byte, clientID string, clean bool, user, pass *string) []byte {
	flags := byte(0)
	if clean {
		flags |= 2
	}
	pl := s16(clientID)
	if user != nil {
		flags |= 0x80
		pl = append(pl, s16(*user)...)
	}
	if pass != nil {
		flags |= 0x40
		pl = append(pl, s16(*pass)...)
	}
	vh := append(s16(name), level, flags, 0, 60)
	if level == 5 {
		vh = append(vh, 0)
	}
	return pkt(0x10, append(vh, pl...))
}

func ptr(s string) *string { return &s }

// exchange sends b, and returns what came back until close or a pause.
func exchange(t *testing.T, addr string, b []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(b)
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				out.WriteString("|open")
			}
			return out.Bytes()
		}
	}
}

var autoID = regexp.MustCompile(`auto-[0-9A-F-]{36}`)

func TestClientsAgainstDecky(t *testing.T) {
	sub := testenv.RequireTool(t, "mosquitto_sub")
	pub := testenv.RequireTool(t, "mosquitto_pub")
	r := servicetest.Start(t, "mqtt", 1883, servicetest.Options{Config: map[string]any{"persona": "home_automation"}})
	host, port := r.Addr.String(), r.Port(1883)

	out, err := exec.Command(sub, "-h", host, "-p", port, "-t", "#", "-C", "5", "-v", "-W", "5").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "zigbee2mqtt/bridge/state {\"state\":\"online\"}") || strings.Contains(string(out), "$SYS") {
		t.Errorf("sub #: %v\n%s", err, out)
	}
	out, err = exec.Command(sub, "-V", "mqttv5", "-h", host, "-p", port, "-t", "$SYS/broker/version", "-C", "1", "-W", "5").CombinedOutput()
	if err != nil || string(out) != "mosquitto version 2.0.11\n" {
		t.Errorf("sub $SYS: %v %q", err, out)
	}
	out, err = exec.Command(pub, "-h", host, "-p", port, "-q", "1", "-t", "cmnd/tasmota/POWER", "-m", "OFF").CombinedOutput()
	if err != nil {
		t.Errorf("pub: %v %s", err, out)
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("mqtt.message.publish"))
	if !ok || e.Fields["topic"] != "cmnd/tasmota/POWER" || e.Fields["payload"] != "OFF" || e.Fields["qos"] != 1 {
		t.Errorf("publish event: %+v", e)
	}
	if _, ok := r.Events.Wait(time.Second, event.OfType("mqtt.subscription.add")); !ok {
		t.Errorf("no subscription event")
	}

	// A client's message comes back to its own subscription, QoS 2 flow
	// included.
	c, err := net.Dial("tcp", r.HostPort(1883))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(connectPacket("MQTT", 4, "me", true, nil, nil))
	c.Write(pkt(0x82, append([]byte{0, 1}, append(s16("my/+"), 2)...)))
	c.Write(pkt(0x34, append(append(s16("my/t"), 0, 9), "hello"...)))
	want := []byte{0x20, 2, 0, 0, 0x90, 3, 0, 1, 2, 0x50, 2, 0, 9}
	want = append(want, pkt(0x34, append(append(s16("my/t"), 0, 1), "hello"...))...)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Errorf("self delivery: %x, want %x (%v)", got, want, err)
	}
}

// TestAgainstRealMosquitto runs Debian's Mosquitto 2.0.11 beside the decky,
// both refusing anonymous clients and taking admin:secret, and compares
// raw CONNECT answers, the clients' transcripts and nmap -sV.
func TestAgainstRealMosquitto(t *testing.T) {
	mosquitto := testenv.RequireTool(t, "mosquitto")
	passwd := testenv.RequireTool(t, "mosquitto_passwd")
	pub := testenv.RequireTool(t, "mosquitto_pub")
	sub := testenv.RequireTool(t, "mosquitto_sub")
	// Mosquitto started as root runs as user mosquitto: its files live
	// where that user can read them.
	dir, err := os.MkdirTemp("", "mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	pw := filepath.Join(dir, "passwd")
	if out, err := exec.Command(passwd, "-b", "-c", pw, "admin", "secret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	os.Chmod(pw, 0o644)
	realIP := fmt.Sprintf("127.%d.%d.%d", 20+rand.IntN(200), rand.IntN(256), 2+rand.IntN(250))
	conf := filepath.Join(dir, "mosquitto.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener 1883 %s\nallow_anonymous false\npassword_file %s\npersistence false\nlog_dest stderr\n", realIP, pw)), 0o644)
	realAddr := net.JoinHostPort(realIP, "1883")
	testenv.StartDaemon(t, "mosquitto", exec.Command(mosquitto, "-c", conf), testenv.Dialable(realAddr))
	r := servicetest.Start(t, "mqtt", 1883, servicetest.Options{Config: map[string]any{"allow_anonymous": false, "creds": []any{"admin:secret"}}})
	decky := r.HostPort(1883)

	cases := map[string][]byte{
		"v5 ok":                 connectPacket("MQTT", 5, "c1", true, ptr("admin"), ptr("secret")),
		"v5 ok empty id":        connectPacket("MQTT", 5, "", true, ptr("admin"), ptr("secret")),
		"v5 anonymous":          connectPacket("MQTT", 5, "c1", true, nil, nil),
		"v5 bad password":       connectPacket("MQTT", 5, "c1", true, ptr("admin"), ptr("x")),
		"v311 anonymous":        connectPacket("MQTT", 4, "c1", true, nil, nil),
		"v311 bad password":     connectPacket("MQTT", 4, "c1", true, ptr("admin"), ptr("x")),
		"v311 unknown user":     connectPacket("MQTT", 4, "c1", true, ptr("root"), ptr("root")),
		"v311 ok":               connectPacket("MQTT", 4, "c1", true, ptr("admin"), ptr("secret")),
		"v311 empty id, !clean": connectPacket("MQTT", 4, "", false, ptr("admin"), ptr("secret")),
		"v31 ok":                connectPacket("MQIsdp", 3, "c1", true, ptr("admin"), ptr("secret")),
		"level 6":               connectPacket("MQTT", 6, "c1", true, nil, nil),
		"level 2":               connectPacket("MQTT", 2, "c1", true, nil, nil),
		"bad name":              connectPacket("MQTX", 4, "c1", true, nil, nil),
		"http":                  []byte("GET / HTTP/1.0\r\n\r\n"),
		"ping":                  append(connectPacket("MQTT", 4, "c1", true, ptr("admin"), ptr("secret")), 0xc0, 0x00, 0xe0, 0x00),
		"v5 subscribe qos":      append(connectPacket("MQTT", 5, "c1", true, ptr("admin"), ptr("secret")), pkt(0x82, append([]byte{0, 7, 0}, append(s16("a/#"), 1)...))...),
		"v311 unsubscribe":      append(connectPacket("MQTT", 4, "c1", true, ptr("admin"), ptr("secret")), pkt(0xa2, append([]byte{0, 3}, s16("nothing/here")...))...),
		"v5 unsubscribe":        append(connectPacket("MQTT", 5, "c1", true, ptr("admin"), ptr("secret")), pkt(0xa2, append([]byte{0, 3, 0}, s16("nothing/here")...))...),
		"v311 qos2 publish":     append(connectPacket("MQTT", 4, "c1", true, ptr("admin"), ptr("secret")), append(pkt(0x34, append(append(s16("x/y"), 0, 5), "v"...)), 0x62, 2, 0, 5)...),
	}
	for name, b := range cases {
		a := autoID.ReplaceAll(exchange(t, realAddr, b), []byte("auto-ID"))
		d := autoID.ReplaceAll(exchange(t, decky, b), []byte("auto-ID"))
		if !bytes.Equal(a, d) {
			t.Errorf("%s:\nreal  %x\ndecky %x", name, a, d)
		}
	}

	// A first packet that is not a CONNECT: Mosquitto reads one byte and
	// closes, the rest unread, so the client reads a reset (potsnitch's
	// invalid payloads of other protocols; a clean end of stream to each
	// made them "uniform errors").
	for _, b := range []string{"\x00\x00\x00\x00", "INVALID_COMMAND\r\n", "PROBE_0\r\n", strings.Repeat("X", 100)} {
		if a, d := ending(t, realAddr, b), ending(t, decky, b); a != d {
			t.Errorf("%q: Mosquitto's stream ends with %s, the decky's with %s", b, a, d)
		}
	}

	for _, args := range [][]string{
		{"-V", "mqttv311", "-t", "x", "-m", "y"},
		{"-V", "mqttv5", "-t", "x", "-m", "y"},
		{"-V", "mqttv31", "-u", "admin", "-P", "wrong", "-t", "x", "-m", "y"},
		{"-u", "admin", "-P", "secret", "-q", "2", "-t", "x", "-m", "y"},
	} {
		a, errA := exec.Command(pub, append([]string{"-h", realIP, "-p", "1883"}, args...)...).CombinedOutput()
		d, errD := exec.Command(pub, append([]string{"-h", r.Addr.String(), "-p", r.Port(1883)}, args...)...).CombinedOutput()
		if string(a) != string(d) || (errA == nil) != (errD == nil) {
			t.Errorf("mosquitto_pub %v:\nreal  (%v) %q\ndecky (%v) %q", args, errA, a, errD, d)
		}
	}
	for name, addr := range map[string][2]string{"real": {realIP, "1883"}, "decky": {r.Addr.String(), r.Port(1883)}} {
		out, err := exec.Command(sub, "-h", addr[0], "-p", addr[1], "-u", "admin", "-P", "secret", "-t", "$SYS/broker/version", "-C", "1", "-W", "5").CombinedOutput()
		if err != nil || string(out) != "mosquitto version 2.0.11\n" {
			t.Errorf("%s $SYS/broker/version: %v %q", name, err, out)
		}
	}
	if e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "mqtt.login.failed" && e.Credential != nil && e.Credential.Principal == "root" && e.Credential.SecretText == "root"
	}); !ok {
		t.Errorf("no login.failed for root:root: %+v", e)
	}

	a := testenv.NmapService(t, realIP, "1883")
	d := testenv.NmapService(t, r.Addr.String(), r.Port(1883))
	t.Logf("nmap real: %s\nnmap decky: %s", a, d)
	if a != d {
		t.Errorf("nmap -sV differs:\nreal  %s\ndecky %s", a, d)
	}
}

// ending sends b on a new connection and says how the server's stream
// ends: "reset", "end" or "timeout".
func ending(t *testing.T, addr, b string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(b))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = io.Copy(io.Discard, c)
	switch {
	case err == nil:
		return "end"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	return err.Error()
}
