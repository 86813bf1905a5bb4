package attack_test

import (
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// llmnrPoisoner is the contract of llmnr-poisoning: a poisoner answering
// every LLMNR name with its own address, as Responder does, on a LAN of
// the test's own (a network namespace whose loopback carries multicast).
// The outer test re-runs this contract inside the namespace, where the
// harness checks the decky's events; outside it returns nil.
func llmnrPoisoner(t *testing.T) *servicetest.Running {
	if !testenv.InMulticastNetns(t) {
		return nil
	}
	poisoner := netip.MustParseAddr("127.0.0.66")
	testenv.AnswerGroup(t, [4]byte{224, 0, 0, 252}, 5355, poisoner, func(q []byte) ([]byte, bool) { return poison(q, poisoner) })
	return servicetest.Start(t, "llmnr", 5355, servicetest.Options{OS: "windows", Distro: "win10",
		Config: map[string]any{"interval_min": 2, "interval_max": 2, "protocols": []any{"llmnr"}}})
}

// poison answers an LLMNR query for any name with addr, TTL 30 s.
func poison(q []byte, addr netip.Addr) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil || h.Response {
		return nil, false
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) == 0 {
		return nil, false
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true})
	b.StartQuestions()
	b.Question(qs[0])
	b.StartAnswers()
	b.AResource(dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET, TTL: 30},
		dnsmessage.AResource{A: addr.As4()})
	out, err := b.Finish()
	return out, err == nil
}
