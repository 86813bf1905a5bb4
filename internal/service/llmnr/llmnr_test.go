package llmnr

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/ntlm"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// A poisoner on the LAN answers the decky's bait queries; the decky
// reports it within one query interval and hands it the honey credential.
// The LAN is the loopback of a network namespace of the test's own, with
// multicast on, so the queries really go to 224.0.0.252 and 224.0.0.251.
func TestPoisonerReported(t *testing.T) {
	if testenv.InMulticastNetns(t) {
		poisonerInNamespace(t)
	}
}

func poisonerInNamespace(t *testing.T) {
	// The poisoner, as Responder answers: every LLMNR name is at its
	// address, with a TTL of 30 s, and its HTTP server asks for NTLM.
	poisoner := netip.MustParseAddr("127.0.0.66")
	testenv.AnswerGroup(t, [4]byte{224, 0, 0, 252}, 5355, poisoner, func(q []byte) ([]byte, bool) {
		name, _, ok := question(q)
		if !ok || name == "" {
			return nil, false
		}
		return reply(q, poisoner, 30, false), true
	})
	got := make(chan *ntlm.Auth, 1)
	kali, _ := persona.LookupDistro("debian")
	srv := &ntlm.Server{ID: persona.NewIdentity("poisoner", "kali").Windows(kali, "KALI", time.Now())}
	var x *ntlm.Exchange
	http.DefaultServeMux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		auth, _ := strings.CutPrefix(r.Header.Get("Authorization"), "NTLM ")
		msg, _ := base64.StdEncoding.DecodeString(auth)
		if x == nil {
			ex, challenge, err := srv.Challenge(msg)
			if err != nil {
				w.Header().Set("WWW-Authenticate", "NTLM")
				w.WriteHeader(401)
				return
			}
			x = ex
			w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(challenge))
			w.WriteHeader(401)
			return
		}
		a, err := x.Authenticate(msg)
		if err == nil {
			got <- a
		}
		w.WriteHeader(401)
	})
	l, err := net.Listen("tcp", poisoner.String()+":80")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(l, nil)
	defer l.Close()

	interval := 2
	r := servicetest.Start(t, "llmnr", LLMNRPort, servicetest.Options{OS: "windows", Distro: "win10",
		Config: map[string]any{"interval_min": interval, "interval_max": interval, "protocols": []any{"llmnr"},
			"honey_user": "svc_print", "honey_password": "Printer2023!"}})
	// Within one interval of the first query (sent after one interval).
	e, ok := r.Events.Wait(time.Duration(2*interval)*time.Second+listen, event.OfType("llmnr.poison.detected"))
	if !ok {
		t.Fatal("the poisoner was not reported")
	}
	if e.Src == nil || e.Src.IP != poisoner.String() || e.Fields["answer"] != poisoner.String() || e.Fields["ttl"] != 30 {
		t.Fatalf("poison event %+v %+v", e.Src, e.Fields)
	}
	select {
	case a := <-got:
		if a.User != "svc_print" || a.Version != "v2" {
			t.Fatalf("honey logon %+v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no honey logon reached the poisoner")
	}
	if e, ok := r.Events.Wait(5*time.Second, event.OfType("llmnr.honey.sent")); !ok || e.Fields["status"] != 401 {
		t.Fatalf("honey event %+v", e.Fields)
	}
}

// The decky answers a query for its own name and no other, and records
// both.
func TestAnswersOnlyItsOwnName(t *testing.T) {
	r := servicetest.Start(t, "llmnr", LLMNRPort, servicetest.Options{OS: "windows", Distro: "win10", Hostname: "DESKTOP-ABC1234",
		Config: map[string]any{"interval_min": 3600, "interval_max": 3600}})
	ask := func(name string) bool {
		c, err := net.Dial("udp", r.HostPort(LLMNRPort))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(query(0x1234, name, classIN))
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err != nil {
			return false
		}
		a, _, ok := answer(buf[:n], 0x1234)
		return ok && a == r.Addr
	}
	if !ask("desktop-abc1234") {
		t.Error("its own name was not answered")
	}
	if ask("fileserver") {
		t.Error("another name was answered")
	}
	if _, ok := r.Events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "llmnr.query.received" && e.Fields["name"] == "fileserver" && e.Fields["answered"] == false
	}); !ok {
		t.Error("the query for another name was not recorded")
	}
}

func FuzzWire(f *testing.F) {
	f.Add(query(1, "fileserv", classIN))
	f.Add(nbnsQuery(2, "fileserv"))
	f.Add(reply(query(1, "x", classIN), netip.MustParseAddr("10.0.0.1"), 30, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		answer(b, 0)
		if _, _, ok := question(b); ok {
			reply(b, netip.MustParseAddr("10.0.0.1"), 30, true)
		}
	})
}
