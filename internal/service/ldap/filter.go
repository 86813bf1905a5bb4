package ldap

import (
	"strings"
)

// filter is a parsed LDAP search filter (RFC 4511 4.5.1.7).
type filter struct {
	op    byte // the CHOICE tag number: 0 and ... 9 extensibleMatch
	kids  []*filter
	attr  string
	value string
	subs  [3][]string // initial, any, final
}

const maxFilterNodes = 512

// parseFilter reads a Filter element; count bounds the nodes of one filter.
func parseFilter(n *node, count *int) (*filter, bool) {
	if *count++; *count > maxFilterNodes || n.tag&classContext == 0 {
		return nil, false
	}
	f := &filter{op: n.tag & 0x1f}
	switch f.op {
	case 0, 1, 2:
		if !n.isConstructed() || f.op == 2 && len(n.kids) != 1 {
			return nil, false
		}
		for _, k := range n.kids {
			c, ok := parseFilter(k, count)
			if !ok {
				return nil, false
			}
			f.kids = append(f.kids, c)
		}
	case 3, 5, 6, 8:
		if len(n.kids) != 2 {
			return nil, false
		}
		f.attr, f.value = string(n.kids[0].data), string(n.kids[1].data)
	case 4:
		if len(n.kids) != 2 {
			return nil, false
		}
		f.attr = string(n.kids[0].data)
		for _, s := range n.kids[1].kids {
			if i := int(s.tag & 0x1f); i < 3 {
				f.subs[i] = append(f.subs[i], string(s.data))
			}
		}
	case 7:
		if n.isConstructed() {
			return nil, false
		}
		f.attr = string(n.data)
	case 9:
		for _, k := range n.kids {
			switch k.tag & 0x1f {
			case 2:
				f.attr = string(k.data)
			case 3:
				f.value = string(k.data)
			}
		}
	default:
		return nil, false
	}
	return f, true
}

// match evaluates the filter on an entry, case-insensitively (the
// bait's attributes are all case-ignoring strings).
func (f *filter) match(e *entry) bool {
	switch f.op {
	case 0:
		for _, k := range f.kids {
			if !k.match(e) {
				return false
			}
		}
		return true
	case 1:
		for _, k := range f.kids {
			if k.match(e) {
				return true
			}
		}
		return false
	case 2:
		return !f.kids[0].match(e)
	case 7:
		return strings.EqualFold(f.attr, "objectClass") || len(e.get(f.attr)) > 0
	}
	for _, v := range e.get(f.attr) {
		lv, fv := strings.ToLower(v), strings.ToLower(f.value)
		switch f.op {
		case 3, 8, 9:
			if lv == fv {
				return true
			}
		case 5:
			if lv >= fv {
				return true
			}
		case 6:
			if lv <= fv {
				return true
			}
		case 4:
			if substringsMatch(lv, f.subs) {
				return true
			}
		}
	}
	return false
}

func substringsMatch(v string, subs [3][]string) bool {
	for _, s := range subs[0] {
		if !strings.HasPrefix(v, strings.ToLower(s)) {
			return false
		}
		v = v[len(s):]
	}
	for _, s := range subs[1] {
		i := strings.Index(v, strings.ToLower(s))
		if i < 0 {
			return false
		}
		v = v[i+len(s):]
	}
	for _, s := range subs[2] {
		if !strings.HasSuffix(v, strings.ToLower(s)) {
			return false
		}
	}
	return true
}

// String writes the filter in RFC 4515 form, for events.
func (f *filter) String() string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

func (f *filter) write(b *strings.Builder) {
	b.WriteByte('(')
	switch f.op {
	case 0, 1, 2:
		b.WriteByte("&|!"[f.op])
		for _, k := range f.kids {
			k.write(b)
		}
	case 7:
		b.WriteString(f.attr + "=*")
	case 4:
		b.WriteString(f.attr + "=")
		b.WriteString(strings.Join(f.subs[0], ""))
		b.WriteByte('*')
		for _, s := range f.subs[1] {
			b.WriteString(s + "*")
		}
		b.WriteString(strings.Join(f.subs[2], ""))
	default:
		b.WriteString(f.attr + map[byte]string{3: "=", 5: ">=", 6: "<=", 8: "~=", 9: ":="}[f.op] + f.value)
	}
	b.WriteByte(')')
}
