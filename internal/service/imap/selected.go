package imap

import (
	"context"
	"fmt"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// selectedCommand runs a command of the selected state.
func (ss *session) selectedCommand(_ context.Context, tag, cmd string, args []item, uid bool) {
	f := ss.selected
	base := strings.TrimPrefix(cmd, "UID ")
	switch base {
	case "CLOSE":
		if !ss.readOnly {
			ss.expunge(f, nil, false)
		}
		ss.selected = nil
		ss.l.Send(tag + " OK Close completed" + ss.timing(false))
		return
	case "UNSELECT":
		ss.selected = nil
		ss.l.Send(tag + " OK Unselect completed" + ss.timing(false))
		return
	case "EXPUNGE":
		var only seqSet
		if uid {
			if len(args) != 1 {
				ss.badCommand(tag, cmd, "Invalid arguments")
				return
			}
			var err error
			if only, err = parseSeqSet(args[0].s, f.uidNext); err != nil {
				ss.badCommand(tag, cmd, "Invalid uidset")
				return
			}
		}
		lines := ss.expunge(f, only, true)
		ss.l.Send(append(lines, tag+" OK Expunge completed"+ss.timing(false))...)
		return
	case "SEARCH":
		ss.search(tag, cmd, args, uid)
		return
	}
	if len(args) < 2 || args[0].isList {
		ss.badCommand(tag, cmd, "Invalid arguments")
		return
	}
	set, err := ss.set(args[0].s, uid)
	if err != nil {
		ss.badCommand(tag, cmd, "Invalid messageset")
		return
	}
	switch base {
	case "FETCH":
		ss.fetch(tag, cmd, set, args[1:], uid)
	case "STORE":
		ss.store(tag, cmd, set, args[1:], uid)
	case "COPY", "MOVE":
		ss.copyMsgs(tag, base, set, args[1], uid)
	}
}

// set reads a message set against the selected mailbox: sequence numbers,
// or UIDs for a UID command.
func (ss *session) set(s string, uid bool) (seqSet, error) {
	f := ss.selected
	star := uint32(len(f.msgs))
	if uid {
		star = f.uidNext - 1
		if len(f.msgs) > 0 {
			star = f.msgs[len(f.msgs)-1].UID
		}
	}
	return parseSeqSet(s, star)
}

// each calls fn for every message of set, with its sequence number.
func (ss *session) each(set seqSet, uid bool, fn func(seq int, m *message)) {
	for i, m := range ss.selected.msgs {
		key := uint32(i + 1)
		if uid {
			key = m.UID
		}
		if set.has(key) {
			fn(i+1, m)
		}
	}
}

// flagOrder is the order Dovecot lists system flags in.
var flagOrder = []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}

func flagList(m *message) string {
	var out []string
	for _, f := range flagOrder {
		if m.flags[f] {
			out = append(out, f)
		}
	}
	var kw []string
	for f, on := range m.flags {
		if on && !strings.HasPrefix(f, `\`) {
			kw = append(kw, f)
		}
	}
	sort.Strings(kw)
	return "(" + strings.Join(append(out, kw...), " ") + ")"
}

// fetch answers FETCH and UID FETCH.
func (ss *session) fetch(tag, cmd string, set seqSet, spec []item, uid bool) {
	var atts []string
	add := func(it item) {
		if it.isList {
			for _, x := range it.list {
				atts = append(atts, x.String())
			}
			return
		}
		switch strings.ToUpper(it.s) {
		case "ALL":
			atts = append(atts, "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")
		case "FAST":
			atts = append(atts, "FLAGS", "INTERNALDATE", "RFC822.SIZE")
		case "FULL":
			atts = append(atts, "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")
		default:
			atts = append(atts, it.s)
		}
	}
	for _, it := range spec {
		add(it)
	}
	want := map[string]bool{}
	var sections []section
	var rfc822 []string
	if uid {
		want["UID"] = true
	}
	for _, a := range atts {
		up := strings.ToUpper(a)
		switch up {
		case "UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "ENVELOPE", "BODYSTRUCTURE", "BODY":
			want[up] = true
		case "RFC822", "RFC822.HEADER", "RFC822.TEXT":
			rfc822 = append(rfc822, up)
		case "MODSEQ", "X-GUID", "PREVIEW", "SNIPPET", "SAVEDATE", "X-MAILBOX", "X-REAL-UID":
			// extensions a client may ask for; nothing to say
		default:
			sec, ok := parseSection(a)
			if !ok {
				ss.badCommand(tag, cmd, "Unknown parameter "+event.Text([]byte(a), 64))
				return
			}
			if _, ok := sec.content(nil); !ok {
				ss.badCommand(tag, cmd, "Invalid BODY[..] parameter: Unknown section name")
				return
			}
			sections = append(sections, sec)
		}
	}
	var out strings.Builder
	ss.each(set, uid, func(seq int, m *message) {
		var parts []string
		if want["UID"] {
			parts = append(parts, "UID "+strconv.FormatUint(uint64(m.UID), 10))
		}
		read := len(rfc822) > 0
		for _, s := range sections {
			read = read || !s.peek
		}
		seenBefore := m.flags[`\Seen`]
		if read && !ss.readOnly {
			for _, s := range sections {
				if !s.peek {
					m.flags[`\Seen`] = true
				}
			}
			for _, r := range rfc822 {
				if r != "RFC822.HEADER" {
					m.flags[`\Seen`] = true
				}
			}
		}
		if want["FLAGS"] {
			parts = append(parts, "FLAGS "+flagList(m))
		}
		if want["RFC822.SIZE"] {
			parts = append(parts, "RFC822.SIZE "+strconv.Itoa(len(m.Raw)))
		}
		if want["INTERNALDATE"] {
			parts = append(parts, "INTERNALDATE "+internalDate(m.Internal))
		}
		if want["ENVELOPE"] {
			parts = append(parts, "ENVELOPE "+envelope(m.Raw))
		}
		if want["BODYSTRUCTURE"] {
			parts = append(parts, "BODYSTRUCTURE "+bodyStructure(m.Raw, 0))
		}
		if want["BODY"] {
			parts = append(parts, "BODY "+bodyStructure(m.Raw, 0))
		}
		header, body := split(m.Raw)
		for _, r := range rfc822 {
			b := m.Raw
			switch r {
			case "RFC822.HEADER":
				b = header
			case "RFC822.TEXT":
				b = body
			}
			parts = append(parts, r+" "+literal(b))
		}
		bodyRead := len(rfc822) > 0 && rfc822[0] != "RFC822.HEADER" || len(rfc822) > 1
		for _, s := range sections {
			b, _ := s.content(m.Raw)
			parts = append(parts, s.label()+" "+literal(b))
			up := strings.ToUpper(s.name)
			bodyRead = bodyRead || up == "" || up == "TEXT" || up == "1"
		}
		if !want["FLAGS"] && m.flags[`\Seen`] != seenBefore {
			parts = append(parts, "FLAGS "+flagList(m))
		}
		fmt.Fprintf(&out, "* %d FETCH (%s)\r\n", seq, strings.Join(parts, " "))
		if bodyRead {
			ss.l.Session.Emit(event.Event{Type: "imap.message.read", Fields: map[string]any{
				"mailbox": ss.selected.name, "uid": int(m.UID), "subject": event.Text([]byte(m.Subject), 256), "from": event.Text([]byte(m.From), 256)}})
		}
	})
	ss.l.Raw([]byte(out.String()))
	ss.l.Send(tag + " OK Fetch completed" + ss.timing(false))
}

// literal renders bytes as an IMAP literal.
func literal(b []byte) string { return "{" + strconv.Itoa(len(b)) + "}\r\n" + string(b) }

func (ss *session) store(tag, cmd string, set seqSet, args []item, uid bool) {
	if len(args) < 2 || args[0].isList {
		ss.badCommand(tag, cmd, "Invalid arguments")
		return
	}
	if ss.readOnly {
		ss.l.Send(tag + " NO Mailbox is read-only." + ss.timing(false))
		return
	}
	op := strings.ToUpper(args[0].s)
	silent := strings.HasSuffix(op, ".SILENT")
	op = strings.TrimSuffix(op, ".SILENT")
	var flags []string
	for _, it := range args[1:] {
		if it.isList {
			for _, x := range it.list {
				flags = append(flags, x.s)
			}
		} else {
			flags = append(flags, it.s)
		}
	}
	if op != "FLAGS" && op != "+FLAGS" && op != "-FLAGS" || len(flags) > 32 {
		ss.badCommand(tag, cmd, "Invalid arguments")
		return
	}
	var lines []string
	ss.each(set, uid, func(seq int, m *message) {
		if op == "FLAGS" {
			m.flags = map[string]bool{}
		}
		for _, fl := range flags {
			if len(m.flags) < 64 {
				m.flags[normalFlag(fl)] = op != "-FLAGS"
			}
		}
		if !silent {
			u := ""
			if uid {
				u = fmt.Sprintf("UID %d ", m.UID)
			}
			lines = append(lines, fmt.Sprintf("* %d FETCH (%sFLAGS %s)", seq, u, flagList(m)))
		}
	})
	ss.l.Send(append(lines, tag+" OK Store completed"+ss.timing(false))...)
}

// normalFlag writes a system flag as servers do (\seen -> \Seen).
func normalFlag(f string) string {
	for _, s := range flagOrder {
		if strings.EqualFold(f, s) {
			return s
		}
	}
	return f
}

func (ss *session) copyMsgs(tag, op string, set seqSet, dest item, uid bool) {
	to := ss.find(dest.s)
	if dest.isList || to == nil {
		ss.l.Send(tag + " NO [TRYCREATE] Mailbox doesn't exist: " + dest.String() + ss.timing(false))
		return
	}
	var from, fresh []string
	var moved []*message
	ss.each(set, uid, func(_ int, m *message) {
		if len(to.msgs) >= 4096 {
			return
		}
		c := &message{Message: m.Message, flags: map[string]bool{}}
		for k, v := range m.flags {
			c.flags[k] = v
		}
		c.UID = to.uidNext
		to.uidNext++
		to.msgs = append(to.msgs, c)
		from, fresh = append(from, strconv.FormatUint(uint64(m.UID), 10)), append(fresh, strconv.FormatUint(uint64(c.UID), 10))
		moved = append(moved, m)
	})
	code := ""
	if len(from) > 0 {
		code = fmt.Sprintf("[COPYUID %d %s %s] ", to.validity, strings.Join(from, ","), strings.Join(fresh, ","))
	}
	if op == "COPY" {
		ss.l.Send(tag + " OK " + code + "Copy completed" + ss.timing(false))
		return
	}
	var lines []string
	if code != "" {
		lines = append(lines, "* OK "+code+"Moved UIDs.")
	}
	for _, m := range moved {
		m.flags[`\Deleted`] = true
	}
	only := seqSet{}
	for _, m := range moved {
		only = append(only, [2]uint32{m.UID, m.UID})
	}
	lines = append(lines, ss.expunge(ss.selected, only, true)...)
	ss.l.Send(append(lines, tag+" OK Move completed"+ss.timing(false))...)
}

// expunge removes \Deleted messages (of only's UIDs, when set) and
// returns the untagged EXPUNGE lines.
func (ss *session) expunge(f *folder, only seqSet, report bool) []string {
	var lines []string
	kept := f.msgs[:0]
	removed := 0
	for i, m := range f.msgs {
		if m.flags[`\Deleted`] && (only == nil || only.has(m.UID)) {
			if report {
				lines = append(lines, fmt.Sprintf("* %d EXPUNGE", i+1-removed))
			}
			removed++
			continue
		}
		kept = append(kept, m)
	}
	f.msgs = kept
	return lines
}

// search answers SEARCH and UID SEARCH over the common criteria.
func (ss *session) search(tag, cmd string, args []item, uid bool) {
	if len(args) >= 2 && strings.EqualFold(args[0].s, "CHARSET") {
		args = args[2:]
	}
	if len(args) == 0 {
		ss.badCommand(tag, cmd, "Missing search parameters")
		return
	}
	var hits []string
	for i, m := range ss.selected.msgs {
		ok, rest, err := ss.criteria(args, i+1, m, 0)
		if err != nil || len(rest) != 0 {
			msg := "Unknown argument"
			if err != nil {
				msg = err.Error()
			}
			ss.badCommand(tag, cmd, msg)
			return
		}
		if ok {
			n := uint32(i + 1)
			if uid {
				n = m.UID
			}
			hits = append(hits, strconv.FormatUint(uint64(n), 10))
		}
	}
	if len(ss.selected.msgs) == 0 {
		if _, rest, err := ss.criteria(args, 0, &message{flags: map[string]bool{}}, 0); err != nil || len(rest) != 0 {
			ss.badCommand(tag, cmd, "Unknown argument")
			return
		}
	}
	line := "* SEARCH"
	if len(hits) > 0 {
		line += " " + strings.Join(hits, " ")
	}
	ss.l.Send(line, tag+" OK Search completed"+ss.timing(false))
}

// criteria matches all the keys of args (an implicit AND); it returns the
// unread rest for OR and NOT.
func (ss *session) criteria(args []item, seq int, m *message, depth int) (bool, []item, error) {
	all := true
	for len(args) > 0 {
		ok, rest, err := ss.key(args, seq, m, depth)
		if err != nil {
			return false, nil, err
		}
		all = all && ok
		args = rest
	}
	return all, nil, nil
}

// searchError is a SEARCH refusal in Dovecot's words.
type searchError string

func (e searchError) Error() string { return string(e) }

const errUnknownKey = searchError("Unknown argument")

// key matches one search key and returns what follows it.
func (ss *session) key(args []item, seq int, m *message, depth int) (bool, []item, error) {
	if depth > maxDepth {
		return false, nil, errUnknownKey
	}
	it := args[0]
	args = args[1:]
	if it.isList {
		ok, _, err := ss.criteria(it.list, seq, m, depth+1)
		return ok, args, err
	}
	arg := func() (string, error) {
		if len(args) == 0 {
			return "", errUnknownKey
		}
		s := args[0].s
		args = args[1:]
		return s, nil
	}
	header := func(name string) string {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Raw)))
		if err != nil {
			return ""
		}
		return msg.Header.Get(name)
	}
	contains := func(hay, needle string) bool { return strings.Contains(strings.ToLower(hay), strings.ToLower(needle)) }
	date := func() (time.Time, error) {
		s, err := arg()
		if err != nil {
			return time.Time{}, err
		}
		t, err := time.Parse("2-Jan-2006", s)
		if err != nil {
			return t, errUnknownKey
		}
		return t, nil
	}
	day := m.Internal.UTC().Truncate(24 * time.Hour)
	up := strings.ToUpper(it.s)
	switch up {
	case "ALL":
		return true, args, nil
	case "SEEN", "UNSEEN", "ANSWERED", "UNANSWERED", "FLAGGED", "UNFLAGGED", "DELETED", "UNDELETED", "DRAFT", "UNDRAFT":
		flag := strings.TrimPrefix(up, "UN")
		return m.flags[`\`+title(flag)] != strings.HasPrefix(up, "UN"), args, nil
	case "NEW", "RECENT":
		return false, args, nil
	case "OLD":
		return true, args, nil
	case "FROM", "TO", "CC", "BCC", "SUBJECT":
		s, err := arg()
		return contains(header(title(up)), s), args, err
	case "BODY":
		s, err := arg()
		_, body := split(m.Raw)
		return contains(string(body), s), args, err
	case "TEXT":
		s, err := arg()
		return contains(string(m.Raw), s), args, err
	case "HEADER":
		name, err := arg()
		if err != nil {
			return false, nil, err
		}
		s, err := arg()
		return contains(header(name), s), args, err
	case "SINCE", "SENTSINCE":
		t, err := date()
		return !day.Before(t), args, err
	case "BEFORE", "SENTBEFORE":
		t, err := date()
		return day.Before(t), args, err
	case "ON", "SENTON":
		t, err := date()
		return day.Equal(t), args, err
	case "LARGER", "SMALLER":
		s, err := arg()
		n, perr := strconv.Atoi(s)
		if err != nil || perr != nil {
			return false, nil, errUnknownKey
		}
		if up == "LARGER" {
			return len(m.Raw) > n, args, nil
		}
		return len(m.Raw) < n, args, nil
	case "UID":
		s, err := arg()
		if err != nil {
			return false, nil, err
		}
		set, err := ss.set(s, true)
		return err == nil && set.has(m.UID), args, err
	case "NOT":
		if len(args) == 0 {
			return false, nil, errUnknownKey
		}
		ok, rest, err := ss.key(args, seq, m, depth+1)
		return !ok, rest, err
	case "OR":
		if len(args) == 0 {
			return false, nil, errUnknownKey
		}
		a, rest, err := ss.key(args, seq, m, depth+1)
		if err != nil || len(rest) == 0 {
			return false, nil, errUnknownKey
		}
		b, rest, err := ss.key(rest, seq, m, depth+1)
		return a || b, rest, err
	}
	if set, err := ss.set(it.s, false); err == nil {
		return set.has(uint32(seq)), args, nil
	}
	return false, nil, searchError("Unknown argument " + event.Text([]byte(it.s), 64))
}
