// Package query builds the event filter's SQL for both backends, so that
// they select exactly the same rows.
package query

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/store"
)

// Page sizes of ListEvents and the aggregate lists.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Limit applies the default and the cap to a requested page size.
func Limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Dialect is what differs between the backends.
type Dialect struct {
	// Placeholder returns the n-th (from 1) parameter marker.
	Placeholder func(n int) string
	// Time converts a time to the backend's column value.
	Time func(time.Time) any
	// Like is the case-insensitive LIKE operator.
	Like string
}

// Where returns the WHERE clause (empty, or starting with " WHERE ") that
// selects f, and its arguments. Since is inclusive, Until exclusive; After
// selects ids less than it; Text is a case-insensitive substring of the
// stored JSON document, matched as it appears there (JSON-escaped).
func Where(f store.EventFilter, d Dialect) (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return d.Placeholder(len(args))
	}
	if len(f.Types) > 0 {
		marks := make([]string, len(f.Types))
		for i, t := range f.Types {
			marks[i] = arg(t)
		}
		conds = append(conds, "type IN ("+strings.Join(marks, ", ")+")")
	}
	for _, c := range []struct{ col, v string }{{"decky", f.Decky}, {"service", f.Service}, {"src_ip", f.SrcIP}} {
		if c.v != "" {
			conds = append(conds, c.col+" = "+arg(c.v))
		}
	}
	if f.Text != "" {
		conds = append(conds, fmt.Sprintf(`doc %s %s ESCAPE '\'`, d.Like, arg(LikePattern(f.Text))))
	}
	if f.Tag != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM event_tags g WHERE g.event_id = events.id AND "+
			techniqueCond("g.technique", f.Tag, arg)+")")
	}
	if !f.Since.IsZero() {
		conds = append(conds, "ts >= "+arg(d.Time(f.Since)))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "ts < "+arg(d.Time(f.Until)))
	}
	if f.After != "" {
		op := "id < "
		if f.Oldest {
			op = "id > "
		}
		conds = append(conds, op+arg(f.After))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// likeEscaper escapes LIKE's wildcards and its escape character '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// LikePattern returns a LIKE pattern (escape character '\') matching
// documents that contain text as it is written inside a JSON string.
func LikePattern(text string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(text) // a string always encodes
	s := strings.TrimSuffix(b.String(), "\n")
	s = s[1 : len(s)-1] // the quotes
	return "%" + likeEscaper.Replace(s) + "%"
}

// techniqueCond matches col against an ATT&CK technique id and its
// sub-techniques: T1110 matches T1110 and T1110.001, T1110.001 only
// itself.
func techniqueCond(col, tag string, arg func(any) string) string {
	return "(" + col + " = " + arg(tag) + " OR " + col + " LIKE " + arg(TechniquePrefix(tag)) + ` ESCAPE '\')`
}

// TechniquePrefix is the LIKE pattern of tag's sub-techniques. Technique
// ids hold no LIKE wildcard (the API validates them), but '_' and '%'
// are escaped anyway.
func TechniquePrefix(tag string) string {
	return likeEscaper.Replace(tag) + ".%"
}

// AttackerWhere returns the WHERE clause (empty, or starting with
// " WHERE ") that selects f over "attackers a" left-joined with
// "attacker_intel i", and its arguments.
func AttackerWhere(f store.AttackerFilter, d Dialect) (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return d.Placeholder(len(args))
	}
	if f.Tag != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM attacker_techniques t WHERE t.ip = a.ip AND "+
			techniqueCond("t.technique", f.Tag, arg)+")")
	}
	if f.Country != "" {
		conds = append(conds, "i.country = "+arg(f.Country))
	}
	if f.ASN != 0 {
		conds = append(conds, "i.asn = "+arg(int64(f.ASN)))
	}
	if f.Identity != "" {
		conds = append(conds, "m.identity = "+arg(f.Identity))
	}
	if f.Campaign != "" {
		conds = append(conds, "m.campaign = "+arg(f.Campaign))
	}
	if f.Query != "" {
		pat := "%" + likeEscaper.Replace(f.Query) + "%"
		var ors []string
		for _, col := range []string{"a.ip", "i.country", "i.country_name", "i.city", "i.as_org", "i.ptr"} {
			ors = append(ors, fmt.Sprintf(`%s %s %s ESCAPE '\'`, col, d.Like, arg(pat)))
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// AttackerGroups are the attacker's identity and campaign columns over
// AttackerFrom: an identity only when it holds another address, a
// campaign only when it holds another identity (every address has a
// membership row once linked to anything, and a group of one is noise).
const AttackerGroups = `CASE WHEN EXISTS (SELECT 1 FROM intel_members o WHERE o.identity = m.identity AND o.src_ip <> m.src_ip)
		THEN m.identity ELSE '' END,
	CASE WHEN EXISTS (SELECT 1 FROM intel_members o WHERE o.campaign = m.campaign AND o.identity <> m.identity)
		THEN m.campaign ELSE '' END`

// AttackerFrom is what AttackerWhere and AttackerOrder select from: the
// attackers with their enrichment and their identity.
const AttackerFrom = ` FROM attackers a LEFT JOIN attacker_intel i ON i.ip = a.ip LEFT JOIN intel_members m ON m.src_ip = a.ip`

// AttackerScore is the attacker's score as SQL over AttackerFrom, with
// least the backend's two-argument minimum (min in SQLite, LEAST in
// PostgreSQL): ten points per ATT&CK technique, five per decky touched,
// a point per credential (at most 10) and per command (at most 20),
// capped at 100. docs/intelligence.md explains it.
func AttackerScore(least string) string {
	return least + `(100, 10 * (SELECT count(*) FROM attacker_techniques t WHERE t.ip = a.ip)
		+ 5 * (SELECT count(*) FROM attacker_deckies d WHERE d.ip = a.ip)
		+ ` + least + `(a.credentials, 10) + ` + least + `(a.commands, 20))`
}

// AttackerOrder is the ORDER BY of f.Sort (an unknown sort is the
// default, newest first; the API refuses unknown sorts); ipOrder is the
// tie-breaker column expression.
func AttackerOrder(f store.AttackerFilter, ipOrder string) string {
	switch f.Sort {
	case "first_seen":
		return " ORDER BY a.first_seen DESC, " + ipOrder
	case "events":
		return " ORDER BY a.events DESC, " + ipOrder
	case "score":
		return " ORDER BY score DESC, a.last_seen DESC, " + ipOrder
	case "country":
		return " ORDER BY coalesce(i.country, '') = '', i.country, a.last_seen DESC, " + ipOrder
	case "asn":
		return " ORDER BY coalesce(i.asn, 0) = 0, i.asn, a.last_seen DESC, " + ipOrder
	}
	return " ORDER BY a.last_seen DESC, " + ipOrder
}

// Order is the ORDER BY of an event list: newest first, or oldest first
// when f.Oldest is set.
func Order(f store.EventFilter) string {
	if f.Oldest {
		return " ORDER BY id ASC"
	}
	return " ORDER BY id DESC"
}

// Alerts returns the query of the alerts f selects, newest first, and its
// arguments; cols are the columns to select.
func (d Dialect) Alerts(cols string, f store.AlertFilter) (string, []any) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"status = ", f.Status}, {"rule_id = ", f.RuleID}, {"source = ", f.Source}, {"id < ", f.Before}} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, c.col+d.Placeholder(len(args)))
		}
	}
	q := `SELECT ` + cols + ` FROM alerts`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, Limit(f.Limit))
	return q + ` ORDER BY id DESC LIMIT ` + d.Placeholder(len(args)), args
}
