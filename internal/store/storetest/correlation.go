package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// testCorrelation: what the correlator stores reads back the same, is
// idempotent, and makes identities, campaigns and attacker fields.
func testCorrelation(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	const a, b, d = "198.51.100.7", "203.0.113.9", "192.0.2.1"
	insert(t, s, []event.Event{ev(1, "ssh.session.open", "web", a, nil), ev(2, "ssh.session.open", "web", b, nil),
		ev(3, "ssh.session.open", "db", d, nil)}, 3)
	reason := store.LinkReason{Kind: "ssh_key", Value: "SHA256:abc", Detail: "ssh-ed25519", Weight: 1}
	batch := &store.CorrelationBatch{
		Indicators: []store.Indicator{
			{Kind: "ssh_key", Value: "SHA256:abc", Detail: "ssh-ed25519", SrcIP: a, FirstSeen: base, EventID: "e1"},
			{Kind: "ssh_key", Value: "SHA256:abc", Detail: "ssh-ed25519", SrcIP: b, FirstSeen: base.Add(time.Second), EventID: "e2"},
			{Kind: "payload", Value: "cafe", SrcIP: b, Campaign: true, FirstSeen: base.Add(2 * time.Second), EventID: "e3"},
			{Kind: "payload", Value: "cafe", SrcIP: d, Campaign: true, FirstSeen: base.Add(3 * time.Second), EventID: "e4"},
		},
		Links: []store.Link{
			{A: a, B: b, Reasons: []store.LinkReason{reason}, Time: base.Add(time.Second), EventID: "e2"},
			{A: d, B: b, Campaign: true, Reasons: []store.LinkReason{{Kind: "payload", Value: "cafe", Weight: 0}}, Time: base.Add(3 * time.Second), EventID: "e4"},
		},
		Members: []store.Membership{{SrcIP: a, Identity: "I-1", Campaign: "C-1"}, {SrcIP: b, Identity: "I-1", Campaign: "C-1"},
			{SrcIP: d, Identity: "I-2", Campaign: "C-1"}},
		Sequences: []store.Sequence{{Key: "cred|" + a, Items: []string{"root:1", "admin:2"}}, {Key: "cmd|s1", Items: []string{"id"}, Done: true}},
		Sightings: []store.CredentialSighting{{Key: "k1", Decky: "web", SrcIP: a, Time: base}},
	}
	must(t, s.ApplyCorrelation(c, batch))
	must(t, s.ApplyCorrelation(c, batch)) // idempotent
	st, err := s.LoadCorrelation(c)
	must(t, err)
	if !equalJSON(st.Indicators, batch.Indicators) || !equalJSON(st.Links, batch.Links) ||
		!equalJSON(st.Sequences, []store.Sequence{batch.Sequences[1], batch.Sequences[0]}) || !equalJSON(st.Sightings, batch.Sightings) {
		t.Fatalf("LoadCorrelation = %+v\nwant %+v", st, batch)
	}
	// A sequence is replaced, memberships too.
	must(t, s.ApplyCorrelation(c, &store.CorrelationBatch{Sequences: []store.Sequence{{Key: "cred|" + a, Items: []string{"root:1"}, Done: true}}}))
	st, _ = s.LoadCorrelation(c)
	if !equalJSON(st.Sequences[1], store.Sequence{Key: "cred|" + a, Items: []string{"root:1"}, Done: true}) {
		t.Fatalf("sequence after update %+v", st.Sequences)
	}

	ids, err := s.ListIdentities(c, 0)
	must(t, err)
	if len(ids) != 1 || ids[0].ID != "I-1" || !slices.Equal(ids[0].Sources, []string{a, b}) || ids[0].Campaign != "C-1" ||
		!slices.Equal(ids[0].Kinds, []string{"ssh_key"}) || ids[0].Events != 2 || !ids[0].FirstSeen.Equal(base.Add(time.Second)) {
		t.Fatalf("ListIdentities = %+v", ids)
	}
	id, err := s.IdentityByID(c, "I-1")
	must(t, err)
	if len(id.Links) != 1 || !equalJSON(id.Links[0].Reasons, []store.LinkReason{reason}) || len(id.Indicators) != 3 {
		t.Fatalf("IdentityByID = %+v", id)
	}
	_, err = s.IdentityByID(c, "I-nope")
	wantErr(t, err, store.ErrNotFound, "IdentityByID(missing)")
	cs, err := s.ListCampaigns(c, 0)
	must(t, err)
	if len(cs) != 1 || cs[0].ID != "C-1" || !slices.Equal(cs[0].Identities, []string{"I-1", "I-2"}) || len(cs[0].Sources) != 3 ||
		!slices.Equal(cs[0].Kinds, []string{"payload", "ssh_key"}) {
		t.Fatalf("ListCampaigns = %+v", cs)
	}
	cd, err := s.CampaignByID(c, "C-1")
	must(t, err)
	if len(cd.Links) != 2 || len(cd.Indicators) != 2 {
		t.Fatalf("CampaignByID = %+v", cd)
	}
	at, err := s.Attacker(c, b)
	must(t, err)
	if at.Identity != "I-1" || at.Campaign != "C-1" {
		t.Fatalf("attacker %+v", at)
	}
	// A group of one is not shown: d's identity holds only d.
	at, _ = s.Attacker(c, d)
	if at.Identity != "" || at.Campaign != "C-1" {
		t.Fatalf("attacker %s: identity %q campaign %q, want none and C-1", d, at.Identity, at.Campaign)
	}
	// A campaign of one identity is not shown either.
	must(t, s.ApplyCorrelation(c, &store.CorrelationBatch{Members: []store.Membership{{SrcIP: d, Identity: "I-2", Campaign: "C-2"}}}))
	at, _ = s.Attacker(c, d)
	if at.Identity != "" || at.Campaign != "" {
		t.Fatalf("attacker %s alone: identity %q campaign %q", d, at.Identity, at.Campaign)
	}
	if ids, _ := s.ListIdentities(c, 0); len(ids) != 1 || ids[0].Campaign != "" {
		t.Fatalf("identity of a campaign of one: %+v", ids)
	}
	must(t, s.ApplyCorrelation(c, &store.CorrelationBatch{Members: []store.Membership{{SrcIP: d, Identity: "I-2", Campaign: "C-1"}}}))
	got, err := s.ListAttackers(c, store.AttackerFilter{Identity: "I-1"})
	must(t, err)
	if !slices.Equal(attackerIPs(got), []string{b, a}) {
		t.Fatalf("attackers of I-1: %v", attackerIPs(got))
	}
	got, _ = s.ListAttackers(c, store.AttackerFilter{Campaign: "C-1"})
	if len(got) != 3 {
		t.Fatalf("attackers of C-1: %v", attackerIPs(got))
	}

	must(t, s.ClearCorrelation(c))
	st, _ = s.LoadCorrelation(c)
	if len(st.Indicators)+len(st.Links)+len(st.Sequences)+len(st.Sightings) != 0 {
		t.Fatalf("after clear: %+v", st)
	}
	if ids, _ := s.ListIdentities(c, 0); len(ids) != 0 {
		t.Fatalf("identities after clear: %+v", ids)
	}
}

// testAttackerSearch: the query, the sorts and the score.
func testAttackerSearch(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	const a, b = "198.51.100.7", "203.0.113.9"
	insert(t, s, []event.Event{
		ev(1, "ssh.login.failed", "web", a, pw("root", "1")), ev(2, "ssh.login.failed", "db", a, pw("root", "2")),
		ev(3, "ssh.session.open", "web", b, nil), ev(4, "ssh.session.open", "web", b, nil), ev(5, "ssh.session.open", "web", b, nil),
	}, 5)
	must(t, s.SetAttackerIntel(c, map[string]store.AttackerIntel{a: {Country: "FR", CountryName: "France", ASN: 64500, ASOrg: "Example Hosting", UpdatedAt: base}}))
	_, err := s.AddEventTags(c, []store.EventTag{{EventID: "x1", Technique: "T1110.001", Rule: "r", SrcIP: a, Time: base}})
	must(t, err)
	for _, tc := range []struct {
		f    store.AttackerFilter
		want []string
	}{
		{store.AttackerFilter{Query: "hosting"}, []string{a}},
		{store.AttackerFilter{Query: "FRANCE"}, []string{a}},
		{store.AttackerFilter{Query: "203.0.113"}, []string{b}},
		{store.AttackerFilter{Query: "%"}, nil},
		{store.AttackerFilter{Sort: "events"}, []string{b, a}},
		{store.AttackerFilter{Sort: "first_seen"}, []string{b, a}},
		{store.AttackerFilter{Sort: "score"}, []string{a, b}},
		{store.AttackerFilter{Sort: "country"}, []string{a, b}},
		{store.AttackerFilter{Sort: "asn"}, []string{a, b}},
		{store.AttackerFilter{}, []string{b, a}},
	} {
		got, err := s.ListAttackers(c, tc.f)
		must(t, err)
		if !slices.Equal(attackerIPs(got), tc.want) {
			t.Errorf("ListAttackers(%+v) = %v, want %v", tc.f, attackerIPs(got), tc.want)
		}
	}
	at, _ := s.Attacker(c, a)
	// One technique (10), two deckies (10), two credentials (2).
	if at.Score != 22 {
		t.Errorf("score = %d, want 22", at.Score)
	}
	creds, err := s.ListCredentials(c, store.CredentialFilter{MinDeckies: 2})
	must(t, err)
	if len(creds) != 0 {
		t.Fatalf("reused credentials: %+v", creds)
	}
	insert(t, s, []event.Event{ev(6, "ssh.login.failed", "db", b, pw("root", "1"))}, 1)
	creds, _ = s.ListCredentials(c, store.CredentialFilter{MinDeckies: 2})
	if len(creds) != 1 || !slices.Equal(creds[0].Deckies, []string{"db", "web"}) {
		t.Fatalf("reused credentials: %+v", creds)
	}
}
