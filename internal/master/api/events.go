package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/store"
)

// eventParams are the filter parameters of /events, /events/count and
// /events/stream.
var eventParams = []string{"type", "decky", "service", "src_ip", "q", "since", "until"}

var typeRE = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)

// techniqueRE is an ATT&CK technique or sub-technique id.
var techniqueRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// parseTag reads the tag parameter: an ATT&CK technique id.
func parseTag(q url.Values) (string, error) {
	v := q.Get("tag")
	if v != "" && !techniqueRE.MatchString(v) {
		return "", fmt.Errorf("%w: tag %q is not an ATT&CK technique id such as T1110 or T1110.001", ErrInvalid, v)
	}
	return v, nil
}

// TaggedEvent is an event as /events lists it: the stored document and
// the ATT&CK techniques the tagger put on it.
type TaggedEvent struct {
	event.Event
	Tags []string `json:"tags,omitempty"`
}

// parseEventFilter reads the filter parameters, refusing unknown ones
// (but those in extra) so that a typo is not silently ignored.
func parseEventFilter(q url.Values, extra ...string) (store.EventFilter, error) {
	var f store.EventFilter
	var unknown []string
	for k := range q {
		if !slices.Contains(eventParams, k) && !slices.Contains(extra, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return f, &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: "unknown query parameter",
			Details: map[string]any{"unknown": unknown, "allowed": append(append([]string{}, eventParams...), extra...)}}
	}
	for _, v := range q["type"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t == "" {
				continue
			}
			if len(t) > 128 || !typeRE.MatchString(t) {
				return f, fmt.Errorf("%w: type %q is not an event type", ErrInvalid, t)
			}
			f.Types = append(f.Types, t)
		}
	}
	if len(f.Types) > 64 {
		return f, fmt.Errorf("%w: at most 64 types", ErrInvalid)
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"decky", &f.Decky}, {"service", &f.Service}} {
		v := q.Get(p.name)
		if len(v) > 256 {
			return f, fmt.Errorf("%w: %s is too long", ErrInvalid, p.name)
		}
		*p.dst = v
	}
	if v := q.Get("src_ip"); v != "" {
		ip, err := netip.ParseAddr(v)
		if err != nil {
			return f, fmt.Errorf("%w: src_ip %q is not an IP address", ErrInvalid, v)
		}
		f.SrcIP = ip.Unmap().String()
	}
	if v := q.Get("q"); v != "" {
		if len(v) > 512 {
			return f, fmt.Errorf("%w: q exceeds 512 bytes", ErrInvalid)
		}
		f.Text = v
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, fmt.Errorf("%w: %s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", ErrInvalid, p.name)
			}
			*p.dst = t.UTC()
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, fmt.Errorf("%w: since must be before until", ErrInvalid)
	}
	if slices.Contains(extra, "tag") {
		var err error
		if f.Tag, err = parseTag(q); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, _ *Principal) {
	f, err := parseEventFilter(r.URL.Query(), "tag", "limit", "cursor")
	if err != nil {
		WriteError(w, err)
		return
	}
	p, err := ParsePage(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	if p.Cursor != "" {
		id, ok := strings.CutPrefix(p.Cursor, "e:")
		if !ok || len(id) > 64 {
			WriteError(w, Errorf(http.StatusBadRequest, CodeInvalid, "malformed cursor"))
			return
		}
		f.After = id
	}
	f.Limit = min(p.Limit+1, MaxLimit)
	es, err := s.st.ListEvents(r.Context(), f)
	if err != nil {
		WriteError(w, err)
		return
	}
	ids := make([]string, len(es))
	for i := range es {
		ids[i] = es[i].ID
	}
	tags, err := s.st.EventTags(r.Context(), ids)
	if err != nil {
		WriteError(w, err)
		return
	}
	tagged := make([]TaggedEvent, len(es))
	for i := range es {
		tagged[i].Event = es[i]
		for _, g := range tags[es[i].ID] {
			tagged[i].Tags = append(tagged[i].Tags, g.Technique)
		}
	}
	WriteJSON(w, http.StatusOK, pageOf(tagged, p.Limit, func(e TaggedEvent) string { return "e:" + e.ID }))
}

func (s *Server) countEvents(w http.ResponseWriter, r *http.Request, _ *Principal) {
	f, err := parseEventFilter(r.URL.Query(), "tag")
	if err != nil {
		WriteError(w, err)
		return
	}
	n, err := s.st.CountEvents(r.Context(), f)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, eventCount{n})
}

// eventCount is GET /events/count.
type eventCount struct {
	Count int64 `json:"count"`
}

// offsetPage serves a store list that only takes a limit: the cursor is an
// offset, so only the newest MaxLimit rows are reachable.
func offsetPage[T any](r *http.Request, list func(limit int) ([]T, error)) (List[T], error) {
	p, err := ParsePage(r)
	if err != nil {
		return List[T]{}, err
	}
	off := 0
	if p.Cursor != "" {
		v, ok := strings.CutPrefix(p.Cursor, "o:")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 || n >= MaxLimit {
			return List[T]{}, Errorf(http.StatusBadRequest, CodeInvalid, "malformed cursor")
		}
		off = n
	}
	items, err := list(min(off+p.Limit+1, MaxLimit))
	if err != nil {
		return List[T]{}, err
	}
	if off >= len(items) {
		return List[T]{Items: []T{}}, nil
	}
	items = items[off:]
	out := List[T]{Items: items}
	if len(items) > p.Limit {
		out.Items = items[:p.Limit]
		if off+p.Limit < MaxLimit {
			out.NextCursor = EncodeCursor("o:" + strconv.Itoa(off+p.Limit))
		}
	}
	return out, nil
}

func (s *Server) listAttackers(w http.ResponseWriter, r *http.Request, _ *Principal) {
	if err := onlyParams(r, slices.Concat(attackerParams, []string{"limit", "cursor"})...); err != nil {
		WriteError(w, err)
		return
	}
	f, err := ParseAttackerFilter(r.URL.Query())
	if err != nil {
		WriteError(w, err)
		return
	}
	l, err := offsetPage(r, func(n int) ([]store.Attacker, error) {
		f.Limit = n
		return s.st.ListAttackers(r.Context(), f)
	})
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, l)
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// attackerParams are the filters of GET /attackers.
var attackerParams = []string{"tag", "country", "asn", "identity", "campaign", "q", "sort"}

// groupIDRE is the shape of identity and campaign ids.

// ParseAttackerFilter reads the attacker filter parameters (the API's and
// the dashboard's); its errors wrap ErrInvalid.
func ParseAttackerFilter(q url.Values) (store.AttackerFilter, error) {
	var f store.AttackerFilter
	var err error
	if f.Tag, err = parseTag(q); err != nil {
		return f, err
	}
	if v := q.Get("country"); v != "" {
		if v = strings.ToUpper(v); !countryRE.MatchString(v) {
			return f, fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code such as FR", ErrInvalid, q.Get("country"))
		}
		f.Country = v
	}
	if v := q.Get("asn"); v != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 32)
		if err != nil || n == 0 {
			return f, fmt.Errorf("%w: asn %q is not an AS number such as 64500 or AS64500", ErrInvalid, v)
		}
		f.ASN = uint32(n)
	}
	for _, p := range []struct {
		name, prefix string
		valid        func(string) bool
		to           *string
	}{{"identity", "I-", correlate.IsIdentityID, &f.Identity}, {"campaign", "C-", correlate.IsCampaignID, &f.Campaign}} {
		if v := q.Get(p.name); v != "" {
			if !p.valid(v) {
				return f, fmt.Errorf("%w: %s %q is not an id such as %s0123456789ab", ErrInvalid, p.name, v, p.prefix)
			}
			*p.to = v
		}
	}
	if v := q.Get("q"); v != "" {
		if len(v) > 200 {
			return f, fmt.Errorf("%w: q is longer than 200 bytes", ErrInvalid)
		}
		f.Query = v
	}
	if v := q.Get("sort"); v != "" {
		if !slices.Contains(store.AttackerSorts, v) {
			return f, fmt.Errorf("%w: sort %q: want one of %s", ErrInvalid, v, strings.Join(store.AttackerSorts, ", "))
		}
		f.Sort = v
	}
	return f, nil
}

func (s *Server) getAttacker(w http.ResponseWriter, r *http.Request, _ *Principal) {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		WriteError(w, fmt.Errorf("%w: %q is not an IP address", ErrInvalid, r.PathValue("ip")))
		return
	}
	a, err := s.st.Attacker(r.Context(), ip.Unmap().String())
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, a)
}

func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request, _ *Principal) {
	if err := onlyParams(r, "reused", "limit", "cursor"); err != nil {
		WriteError(w, err)
		return
	}
	var f store.CredentialFilter
	switch v := r.URL.Query().Get("reused"); v {
	case "", "false":
	case "true":
		f.MinDeckies = 2
	default:
		WriteError(w, fmt.Errorf("%w: reused %q: want true or false", ErrInvalid, v))
		return
	}
	l, err := offsetPage(r, func(n int) ([]store.Credential, error) {
		f.Limit = n
		return s.st.ListCredentials(r.Context(), f)
	})
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, l)
}

func onlyParams(r *http.Request, allowed ...string) error {
	for k := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: "unknown query parameter",
				Details: map[string]any{"unknown": []string{k}, "allowed": allowed}}
		}
	}
	return nil
}

// matcher returns the in-memory twin of the store's filter, for the live
// stream: the same fields, Text a case-insensitive substring of the event's
// JSON document as it is written there.
func matcher(f store.EventFilter) func(e *event.Event) bool {
	text := ""
	if f.Text != "" {
		b, _ := json.Marshal(f.Text)
		text = strings.ToLower(string(b[1 : len(b)-1]))
	}
	return func(e *event.Event) bool {
		if len(f.Types) > 0 && !slices.Contains(f.Types, e.Type) {
			return false
		}
		if (f.Decky != "" && e.Decky != f.Decky) || (f.Service != "" && e.Service != f.Service) {
			return false
		}
		if f.SrcIP != "" && (e.Src == nil || e.Src.IP != f.SrcIP) {
			return false
		}
		if (!f.Since.IsZero() && e.Time.Before(f.Since)) || (!f.Until.IsZero() && !e.Time.Before(f.Until)) {
			return false
		}
		if text != "" {
			b, err := event.AppendJSON(nil, e)
			if err != nil || !strings.Contains(strings.ToLower(string(b)), text) {
				return false
			}
		}
		return true
	}
}
