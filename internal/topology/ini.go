package topology

// This file imports the original system's deployment INI files into a Spec.
//
// The format, with Python configparser's strict-mode semantics:
//
//	[general]                  ; optional
//	net = 192.168.1.0/24       ; the LAN's subnet (else one is allocated)
//	gw = 192.168.1.1           ; its gateway
//	interface = eth0           ; host NIC: a macvlan LAN (ipvlan = true: ipvlan)
//	[web]                      ; a decky, or a pool of them with amount
//	ip = 192.168.1.82          ; not with amount > 1
//	services = ssh, http       ; slugs or aliases (conpot, docker-api)
//	archetype = web-server
//	amount = 3                 ; 1..100: web-01 .. web-03
//	nmap_os = linux            ; also nmap-os
//	distro = debian            ; extension
//	hostname = www             ; extension, only without amount > 1
//	force = true               ; extension: accept persona inconsistencies
//	[web.http]                 ; settings of one service of a decky or pool
//	server_header = nginx/1.18.0
//	[custom-jenkins]           ; bring-your-own service
//	binary = jenkins/jenkins:lts
//	exec = /usr/bin/tini -- /usr/local/bin/jenkins.sh
//	ports = 8080, 161/udp
//
// (The notes after ';' belong to this comment: like configparser's default,
// '#' and ';' start a comment only at the start of a line.) A section whose
// last dot-separated part names a service or alias is a service section, a
// [custom-*] section a custom service, [general] the network, and any other
// a decky or pool. In [general] and decky sections an empty value means the
// key is not set. The spec has one LAN, "lan", which is the DMZ.
//
// Differences from the original, all deliberate:
//   - Service settings are parsed by the service's schema (Field.Parse), so
//     nla = false is the boolean false, not a truthy string; an unknown key
//     or a bad value is an error naming its line. An empty value leaves the
//     setting at its default, as the original's API path did.
//   - An unknown nmap_os is an error instead of a silent linux.
//   - A decky with neither services nor an archetype gets 1-3 services as
//     the original did, but picked from the identity seed and the decky name
//     rather than at random on every load, so that the same file and seed
//     always give the same spec. Windows-only services are picked only for
//     Windows personas, and services whose ports clash are never picked
//     together.
//   - When nmap_os overrides an archetype's family, the archetype's
//     preferred distributions of another family are skipped, so the persona
//     never contradicts itself; an explicit distro is kept as written and
//     Validate reports a contradiction.
//   - log_target and mutate_interval are accepted with an INI_KEY_IGNORED
//     warning: events go through the DECNET pipeline and services are not
//     shuffled.
//   - A service section may hold keys the original's service images read
//     under other names (mysql_version, ssh_version, smtp_banner,
//     snmp_community, ...): each service lists them (service.Legacy). A key
//     with a DECNET setting is imported as that setting with an
//     INI_KEY_MAPPED warning; one without is accepted with INI_KEY_IGNORED.
//   - A [DEFAULT] section is refused, and so are control characters, which
//     YAML refuses too.
//   - What a file may expand to is bounded (4096 deckies, 64 services per
//     decky, 256 custom services, 1 MiB of settings over all deckies, and a
//     spec that Decode accepts).

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

// MaxINISize bounds an INI file; larger input is refused before parsing.
const MaxINISize = 512 << 10

// Bounds on what one file may expand to, so that a small file of pools
// cannot make an import allocate without end: deckies in all, services of
// one decky, custom services, bytes of service settings summed over every
// member of a pool, and problems reported.
const (
	maxINIDeckies     = 4096
	maxINIServices    = 64
	maxINICustom      = 256
	maxINISettingSize = 1 << 20
	maxINIErrors      = 100
)

// INIKeyIgnored is the code of the warning for a key of the original format
// that is accepted but has no effect; INIKeyMapped of the warning for a key
// of the original format imported under its DECNET name.
const (
	INIKeyIgnored Code = "INI_KEY_IGNORED"
	INIKeyMapped  Code = "INI_KEY_MAPPED"
)

// INIOptions tunes an import.
type INIOptions struct {
	// Name is the topology name; "" means "ini".
	Name string
	// Seed is the identity seed; "" means a fresh random one.
	Seed string
	// Host is the target host, copied into Spec.Host.
	Host string
}

// INIError is an import problem with its 1-based INI line (0 when the
// problem concerns the whole file). It matches ErrDecode; when it carries a
// validation code it also matches ErrInvalid.
type INIError struct {
	Line int
	Msg  string
	// Code is the validation code of the problem, "" for a syntax error or
	// a problem of the INI format itself.
	Code Code
}

func (e *INIError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Code != "" {
		b.WriteString(string(e.Code) + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every INIError match ErrDecode, and those with a validation code
// ErrInvalid too.
func (e *INIError) Is(target error) bool {
	return target == ErrDecode || (e.Code != "" && target == ErrInvalid)
}

// ImportINI parses an original deployment INI file and returns the spec it
// describes, allocated (Allocate) and validated (Validate). warnings holds
// the warning-severity issues, each message prefixed with its INI line when
// known. err is non-nil on any syntax or import problem and on any
// error-severity validation issue; it joins one *INIError per problem, each
// naming its line, and the spec is then nil.
func ImportINI(r io.Reader, opts INIOptions) (spec *Spec, warnings []Issue, err error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxINISize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read INI file: %w", err)
	}
	if len(data) > MaxINISize {
		return nil, nil, &INIError{Msg: fmt.Sprintf("the INI file is larger than %d bytes", MaxINISize)}
	}
	secs, err := parseINI(data)
	if err != nil {
		return nil, nil, err
	}
	if opts.Name == "" {
		opts.Name = "ini"
	}
	if opts.Seed == "" {
		if opts.Seed, err = iniRandomSeed(); err != nil {
			return nil, nil, err
		}
	}
	b := &iniBuilder{
		secs:    secs,
		spec:    &Spec{Name: opts.Name, Host: opts.Host, Seed: opts.Seed},
		members: map[string]*iniDecky{},
		custom:  map[string]*iniSection{},
	}
	b.build()
	if len(b.errs) > 0 {
		return nil, b.warns, b.joined()
	}
	if err := Allocate(b.spec, "", nil); err != nil {
		return nil, b.warns, &INIError{Line: b.generalLine("net"), Msg: err.Error()}
	}
	rep := Validate(b.spec, Options{})
	for _, is := range rep.Issues {
		line := b.lineOf(is)
		if is.Severity == Error {
			b.errs = append(b.errs, &INIError{Line: line, Code: is.Code, Msg: fmt.Sprintf("%s (%s)", is.Message, is.Object)})
			continue
		}
		if line > 0 {
			is.Message = fmt.Sprintf("line %d: %s", line, is.Message)
		}
		b.warns = append(b.warns, is)
	}
	if len(b.errs) > 0 {
		return nil, b.warns, b.joined()
	}
	// The spec must store and load again: Decode refuses larger documents.
	if data, err := b.spec.JSON(); err != nil || len(data) > MaxSpecSize {
		return nil, b.warns, &INIError{Msg: fmt.Sprintf("the imported topology is larger than %d bytes; split the file", MaxSpecSize)}
	}
	return b.spec, b.warns, nil
}

func iniRandomSeed() (string, error) {
	var buf [16]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", fmt.Errorf("generate identity seed: %w", err)
	}
	return hex.EncodeToString(buf[:]), nil
}

// iniKey is one key = value of a section. value has its continuation lines
// joined with newlines.
type iniKey struct {
	name  string
	value string
	line  int
}

type iniSection struct {
	name  string
	line  int
	keys  []*iniKey
	byKey map[string]*iniKey
}

func iniErrorf(line int, format string, a ...any) *INIError {
	return &INIError{Line: line, Msg: fmt.Sprintf(format, a...)}
}

// parseINI reads the sections as Python's configparser does in strict mode
// with its default settings: '=' or ':' delimiters, full-line '#' and ';'
// comments, lowercased keys, indented continuation lines, and errors for a
// duplicate section or key and for text before the first section. It stops
// at the first problem.
func parseINI(data []byte) ([]*iniSection, error) {
	text := strings.TrimPrefix(string(data), "\ufeff")
	var (
		secs   []*iniSection
		byName = map[string]*iniSection{}
		cur    *iniSection
		opt    *iniKey  // the key that continuation lines extend
		parts  []string // its value, line by line
		indent int      // indentation of the line that started opt
	)
	flush := func() {
		if opt != nil {
			opt.value = strings.TrimRightFunc(strings.Join(parts, "\n"), unicode.IsSpace)
			opt, parts = nil, nil
		}
	}
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		line := strings.TrimSuffix(raw, "\r")
		if !utf8.ValidString(line) {
			return nil, iniErrorf(n, "the line is not valid UTF-8")
		}
		if bad := strings.IndexFunc(line, iniUnprintable); bad >= 0 {
			r, _ := utf8.DecodeRuneInString(line[bad:])
			return nil, iniErrorf(n, "control character %U is not allowed", r)
		}
		val := strings.TrimSpace(line)
		if strings.HasPrefix(val, "#") || strings.HasPrefix(val, ";") {
			continue
		}
		if val == "" {
			// configparser keeps empty lines inside a multi-line value.
			if opt != nil {
				parts = append(parts, "")
			}
			continue
		}
		lead := strings.IndexFunc(line, func(r rune) bool { return !unicode.IsSpace(r) })
		if opt != nil && lead > indent {
			parts = append(parts, val)
			continue
		}
		flush()
		indent = lead
		if strings.HasPrefix(val, "[") {
			if !strings.HasSuffix(val, "]") {
				return nil, iniErrorf(n, "malformed section header %q: want [name]", val)
			}
			name := strings.TrimSpace(val[1 : len(val)-1])
			switch {
			case name == "":
				return nil, iniErrorf(n, "empty section name")
			case name == "DEFAULT":
				return nil, iniErrorf(n, "[DEFAULT] sections are not supported: repeat the keys in each section that needs them")
			case byName[name] != nil:
				return nil, iniErrorf(n, "duplicate section [%s] (first defined on line %d)", name, byName[name].line)
			}
			cur = &iniSection{name: name, line: n, byKey: map[string]*iniKey{}}
			byName[name] = cur
			secs = append(secs, cur)
			continue
		}
		if cur == nil {
			return nil, iniErrorf(n, "text before the first [section] header: %q", val)
		}
		cut := strings.IndexAny(val, "=:")
		if cut < 0 {
			return nil, iniErrorf(n, "expected \"key = value\", a [section] header or a comment, got %q", val)
		}
		key := strings.ToLower(strings.TrimSpace(val[:cut]))
		if key == "" {
			return nil, iniErrorf(n, "missing key before %q", val[cut:cut+1])
		}
		if prev := cur.byKey[key]; prev != nil {
			return nil, iniErrorf(n, "duplicate key %q in section [%s] (first set on line %d)", key, cur.name, prev.line)
		}
		opt = &iniKey{name: key, line: n}
		parts = []string{strings.TrimSpace(val[cut+1:])}
		cur.keys = append(cur.keys, opt)
		cur.byKey[key] = opt
	}
	flush()
	if len(secs) == 0 {
		return nil, &INIError{Msg: "no sections: the file has no [section] header"}
	}
	return secs, nil
}

// iniUnprintable reports the characters that YAML refuses in a stream, so
// that an imported spec always stores and reloads as YAML or JSON: control
// characters but tab, carriage return and next line, and U+FFFE, U+FFFF.
func iniUnprintable(r rune) bool {
	switch {
	case r == '\t', r == '\r', r == 0x85:
		return false
	case r < 0x20, r >= 0x7f && r < 0xa0, r == 0xfffe, r == 0xffff:
		return true
	}
	return false
}

// iniDecky is one decky section: a single decky or a pool of amount members.
type iniDecky struct {
	sec     *iniSection
	keys    map[string]*iniKey // by canonical key name
	members []*Decky           // pointers are valid once every decky is built
	idx     []int              // index of each member in Spec.Deckies
	// svcSecs holds the [decky.svc] sections by service slug.
	svcSecs map[string]*iniSection
}

func (d *iniDecky) keyLine(k string) int {
	if key := d.keys[k]; key != nil {
		return key.line
	}
	return 0
}

type iniBuilder struct {
	secs    []*iniSection
	spec    *Spec
	errs    []error
	warns   []Issue
	general map[string]*iniKey
	genSec  *iniSection
	deckies []*iniDecky
	byName  map[string]*iniDecky // decky sections by section name
	members map[string]*iniDecky // decky sections by member name
	custom  map[string]*iniSection
	// settingBytes sums the settings' text over every member they apply to.
	settingBytes int
}

func (b *iniBuilder) errorf(line int, code Code, format string, a ...any) {
	b.errs = append(b.errs, &INIError{Line: line, Code: code, Msg: fmt.Sprintf(format, a...)})
}

func (b *iniBuilder) warnf(line int, obj Ref, format string, a ...any) {
	b.warn(line, INIKeyIgnored, obj, format, a...)
}

func (b *iniBuilder) warn(line int, code Code, obj Ref, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	b.warns = append(b.warns, Issue{Severity: Warning, Code: code, Message: msg, Object: obj})
}

// joined returns the errors sorted by line, at most maxINIErrors of them.
func (b *iniBuilder) joined() error {
	sort.SliceStable(b.errs, func(i, j int) bool {
		return b.errs[i].(*INIError).Line < b.errs[j].(*INIError).Line
	})
	if n := len(b.errs) - maxINIErrors; n > 0 {
		b.errs = append(b.errs[:maxINIErrors], &INIError{Msg: fmt.Sprintf("%d more problems not shown", n)})
	}
	return errors.Join(b.errs...)
}

func (b *iniBuilder) generalLine(key string) int {
	if k := b.general[key]; k != nil {
		return k.line
	}
	if b.genSec != nil {
		return b.genSec.line
	}
	return 0
}

// keys checks a section's keys against the allowed ones, folding aliases
// into their canonical names, and returns them by canonical name.
func (b *iniBuilder) keys(sec *iniSection, what string, allowed []string, aliases map[string]string, hint string) map[string]*iniKey {
	out := map[string]*iniKey{}
	for _, k := range sec.keys {
		name := k.name
		if canon, ok := aliases[name]; ok {
			name = canon
		}
		if !slices.Contains(allowed, name) {
			b.errorf(k.line, "", "unknown key %q in %s [%s] (valid keys: %s)%s", k.name, what, sec.name, strings.Join(allowed, ", "), hint)
			continue
		}
		if prev := out[name]; prev != nil {
			b.errorf(k.line, "", "key %q repeats %q of line %d", k.name, prev.name, prev.line)
			continue
		}
		out[name] = k
	}
	return out
}

var (
	iniGeneralKeys   = []string{"net", "gw", "interface", "ipvlan", "log_target", "mutate_interval"}
	iniDeckyKeys     = []string{"ip", "services", "archetype", "amount", "nmap_os", "mutate_interval", "distro", "hostname", "force"}
	iniCustomKeys    = []string{"binary", "exec", "ports"}
	iniKeyAlias      = map[string]string{"nmap-os": "nmap_os", "mutate-interval": "mutate_interval", "log-target": "log_target"}
	iniCustomAliases = map[string]string{"image": "binary"}
)

// iniValue returns a key, and false when it is absent or empty: an empty
// value means "not set", as in the original.
func iniValue(keys map[string]*iniKey, name string) (*iniKey, bool) {
	k := keys[name]
	return k, k != nil && k.value != ""
}

func (b *iniBuilder) build() {
	lan := LAN{Name: "lan", Driver: Bridge, DMZ: true}
	var subs []*iniSection
	var deckySecs []*iniSection
	for _, sec := range b.secs {
		switch {
		case sec.name == "general":
			b.genSec = sec
		case iniIsServiceSection(sec.name):
			subs = append(subs, sec)
		case strings.HasPrefix(sec.name, "custom-"):
			b.customService(sec)
		default:
			deckySecs = append(deckySecs, sec)
		}
	}
	if b.genSec != nil {
		b.generalSection(&lan)
	}
	b.spec.LANs = []LAN{lan}
	b.byName = map[string]*iniDecky{}
	index := 0 // position of the next decky in the file, across pools
	for _, sec := range deckySecs {
		if !b.deckySection(sec, &index) {
			break
		}
	}
	if len(deckySecs) == 0 {
		b.errorf(0, "", "the file defines no decky: add a [name] section with services or an archetype")
	}
	// Members are appended one by one; take their addresses once the slice
	// has stopped growing.
	for _, d := range b.deckies {
		for i, idx := range d.idx {
			d.members[i] = &b.spec.Deckies[idx]
		}
	}
	for _, sec := range subs {
		b.serviceSection(sec)
	}
}

// iniIsServiceSection reports whether a section name is decky.svc with svc a
// known service slug or alias.
func iniIsServiceSection(name string) bool {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return false
	}
	_, ok := service.Canonical(name[dot+1:])
	return ok
}

func (b *iniBuilder) generalSection(lan *LAN) {
	keys := b.keys(b.genSec, "section", iniGeneralKeys, iniKeyAlias, "")
	b.general = keys
	top := Ref{Kind: "topology", Name: b.spec.Name}
	if k, ok := iniValue(keys, "net"); ok {
		p, err := netip.ParsePrefix(k.value)
		switch {
		case err != nil || !p.Addr().Is4():
			b.errorf(k.line, SubnetMalformed, "net = %q is not an IPv4 network in CIDR form (e.g. 192.168.1.0/24)", k.value)
		case p != p.Masked():
			b.errorf(k.line, SubnetMalformed, "net = %s has host bits set; the network is %s", p, p.Masked())
		case p.Bits() > 30:
			b.errorf(k.line, SubnetMalformed, "net = %s has no room for deckies; use a /30 or wider network", p)
		default:
			lan.Subnet = p.String()
		}
	}
	if k, ok := iniValue(keys, "gw"); ok {
		lan.Gateway = k.value
	}
	ipvlan := false
	if k, ok := iniValue(keys, "ipvlan"); ok {
		v, err := iniParseBool(k.value)
		if err != nil {
			b.errorf(k.line, "", "ipvlan: %v", err)
		}
		ipvlan = v
	}
	if k, ok := iniValue(keys, "interface"); ok {
		if !iniValidIfName(k.value) {
			b.errorf(k.line, "", "interface = %q is not a network interface name", k.value)
		}
		lan.Driver, lan.Parent = Macvlan, k.value
		if ipvlan {
			lan.Driver = IPvlan
		}
	} else if ipvlan {
		b.errorf(keys["ipvlan"].line, "", "ipvlan = true needs the host interface to attach to (interface = eth0)")
	}
	if k := keys["log_target"]; k != nil {
		b.warnf(k.line, top, "log_target is ignored: events go through the DECNET pipeline (decky, agent, master); configure outputs on the master")
	}
	if k := keys["mutate_interval"]; k != nil {
		b.warnf(k.line, top, "mutate_interval is ignored: DECNET does not shuffle services; edit the topology to change them")
	}
}

// iniValidIfName reports whether s can name a Linux network interface.
func iniValidIfName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r == '/' || r == ':' || unicode.IsSpace(r) })
}

func iniParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (true/false, yes/no, on/off, 1/0)", s)
}

func (b *iniBuilder) customService(sec *iniSection) {
	name := strings.TrimPrefix(sec.name, "custom-")
	keys := b.keys(sec, "custom service section", iniCustomKeys, iniCustomAliases, "")
	if name == "" {
		b.errorf(sec.line, NameInvalid, "[custom-] needs a service name after the dash, e.g. [custom-jenkins]")
		return
	}
	if len(b.custom) == maxINICustom {
		b.errorf(sec.line, CustomInvalid, "more than %d custom services", maxINICustom)
		return
	}
	b.custom[name] = sec
	c := CustomService{Name: name}
	if k, ok := iniValue(keys, "binary"); ok {
		c.Image = k.value
	} else {
		b.errorf(sec.line, CustomInvalid, "custom service %s needs its image: binary = image:tag", name)
	}
	if k, ok := iniValue(keys, "exec"); ok {
		c.Exec = strings.Fields(k.value)
	}
	if k, ok := iniValue(keys, "ports"); ok {
		for _, p := range strings.Split(k.value, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if _, err := ParsePort(p); err != nil {
				b.errorf(k.line, CustomInvalid, "custom service %s: %v", name, err)
				continue
			}
			c.Ports = append(c.Ports, p)
		}
	}
	b.spec.Custom = append(b.spec.Custom, c)
}

// deckySection builds the members of one decky section. index is the
// position of the next decky in the file. It returns false when the file
// expands to too many deckies.
func (b *iniBuilder) deckySection(sec *iniSection, index *int) bool {
	hint := ""
	if dot := strings.LastIndexByte(sec.name, '.'); dot > 0 {
		last := sec.name[dot+1:]
		if b.custom[last] != nil {
			hint = fmt.Sprintf("; custom service %s takes no settings", last)
		} else {
			hint = fmt.Sprintf("; %q is not a known service, so [%s] is read as a decky", last, sec.name)
		}
	}
	keys := b.keys(sec, "decky section", iniDeckyKeys, iniKeyAlias, hint)
	d := &iniDecky{sec: sec, keys: keys, svcSecs: map[string]*iniSection{}}
	b.byName[sec.name] = d
	ok := true
	if !ValidName(sec.name) {
		b.errorf(sec.line, NameInvalid, "[%s]: a decky name must be 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit", sec.name)
		ok = false
	}

	amount := 1
	if k, given := iniValue(keys, "amount"); given {
		n, err := strconv.Atoi(k.value)
		switch {
		case err != nil:
			b.errorf(k.line, "", "amount = %q is not an integer", k.value)
			ok = false
		case n < 1 || n > 100:
			b.errorf(k.line, "", "amount = %d is outside 1..100", n)
			ok = false
		default:
			amount = n
		}
	}
	ip := ""
	if k, given := iniValue(keys, "ip"); given {
		ip = k.value
		if amount > 1 {
			b.errorf(k.line, "", "ip cannot be combined with amount = %d: each member of a pool gets its own address", amount)
			ok = false
		}
	}
	hostname := ""
	if k, given := iniValue(keys, "hostname"); given {
		hostname = k.value
		if amount > 1 {
			b.errorf(k.line, "", "hostname cannot be combined with amount = %d: each member of a pool gets its own seeded hostname", amount)
			ok = false
		}
	}
	force := false
	if k, given := iniValue(keys, "force"); given {
		v, err := iniParseBool(k.value)
		if err != nil {
			b.errorf(k.line, "", "force: %v", err)
			ok = false
		}
		force = v
	}
	var arch *persona.Archetype
	if k, given := iniValue(keys, "archetype"); given {
		a, found := persona.LookupArchetype(k.value)
		if !found {
			var names []string
			for _, a := range persona.Archetypes() {
				names = append(names, a.Slug)
			}
			b.errorf(k.line, PersonaArchetype, "archetype %q is unknown (known: %s)", k.value, strings.Join(names, ", "))
			ok = false
		} else {
			arch = &a
		}
	}
	fam := persona.Linux
	if arch != nil {
		fam = arch.Family
	}
	if k, given := iniValue(keys, "nmap_os"); given {
		f := persona.Family(strings.ToLower(k.value))
		if _, found := persona.LookupFamily(f); !found {
			b.errorf(k.line, PersonaOSUnknown, "nmap_os = %q is not one of %s", k.value, familyList())
			ok = false
		} else {
			fam = f
		}
	}
	var services []string
	if k, given := iniValue(keys, "services"); given {
		for _, s := range strings.Split(k.value, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			slug, known := b.resolveService(s)
			switch {
			case !known:
				b.errorf(k.line, UnknownService, "service %q is unknown (see decnet services, or define it in a [custom-%s] section)", s, s)
				ok = false
			case slices.Contains(services, slug):
				b.errorf(k.line, ServiceDup, "service %s is listed twice", slug)
				ok = false
			case len(services) == maxINIServices:
				b.errorf(k.line, "", "a decky runs at most %d services", maxINIServices)
				ok = false
			default:
				services = append(services, slug)
				continue
			}
			if len(services) == maxINIServices {
				break
			}
		}
	}
	if k := keys["mutate_interval"]; k != nil {
		b.warnf(k.line, Ref{Kind: "decky", Name: sec.name}, "mutate_interval is ignored: DECNET does not shuffle services; edit the topology to change them")
	}

	names := []string{sec.name}
	if amount > 1 {
		width := 2
		if amount >= 100 {
			width = 3
		}
		names = names[:0]
		for i := 1; i <= amount; i++ {
			names = append(names, fmt.Sprintf("%s-%0*d", sec.name, width, i))
		}
	}
	if last := names[len(names)-1]; ok && !ValidName(last) {
		b.errorf(sec.line, NameInvalid, "[%s]: member name %s is longer than 63 characters", sec.name, last)
		ok = false
	}
	if len(b.spec.Deckies)+len(names) > maxINIDeckies {
		b.errorf(sec.line, "", "the file expands to more than %d deckies", maxINIDeckies)
		return false
	}
	for _, name := range names {
		pos := *index
		*index++
		if prev := b.members[name]; prev != nil {
			b.errorf(sec.line, DeckyNameDup, "decky %s is also made by section [%s] on line %d", name, prev.sec.name, prev.sec.line)
			ok = false
			continue
		}
		b.members[name] = d
		if !ok {
			continue
		}
		dk := Decky{
			Name:      name,
			Addresses: []Address{{LAN: "lan", IP: ip}},
			Force:     force,
			Persona:   Persona{OS: string(fam), Hostname: hostname},
		}
		if arch != nil {
			dk.Persona.Archetype = arch.Slug
		}
		dk.Persona.Distro = iniDistro(keys, arch, fam, pos)
		switch {
		case services != nil:
			dk.Services = slices.Clone(services)
		case arch != nil:
			dk.Services = slices.Clone(arch.Services)
		default:
			dk.Services = iniRandomServices(b.spec.Seed, name, fam)
		}
		if dk.Persona.Hostname == "" {
			style := persona.StyleGeneric
			if dist, found := persona.LookupDistro(dk.Persona.Distro); found {
				style = dist.HostnameStyle
			}
			dk.Persona.Hostname = persona.NewIdentity(b.spec.Seed, name).Hostname(style)
		}
		d.idx = append(d.idx, len(b.spec.Deckies))
		b.spec.Deckies = append(b.spec.Deckies, dk)
	}
	d.members = make([]*Decky, len(d.idx))
	b.deckies = append(b.deckies, d)
	return true
}

// resolveService returns the slug a services entry names: a built-in
// service or alias, or a custom service of the file.
func (b *iniBuilder) resolveService(s string) (string, bool) {
	if slug, ok := service.Canonical(s); ok {
		return slug, true
	}
	if b.custom[s] != nil {
		return s, true
	}
	return service.Canonical(strings.ToLower(s))
}

// iniDistro picks a member's distribution: the explicit one, else the
// archetype's preferred ones of the persona's family, else the family's,
// cycled by the member's position in the file.
func iniDistro(keys map[string]*iniKey, arch *persona.Archetype, fam persona.Family, pos int) string {
	if k, ok := iniValue(keys, "distro"); ok {
		return k.value
	}
	var pool []string
	if arch != nil {
		for _, slug := range arch.PreferredDistros {
			if d, ok := persona.LookupDistro(slug); ok && d.Family == fam {
				pool = append(pool, slug)
			}
		}
	}
	if len(pool) == 0 {
		pool = persona.DistrosOf(fam)
	}
	if len(pool) == 0 {
		return ""
	}
	return pool[pos%len(pool)]
}

// iniRandomServices picks 1-3 services for a decky that names neither
// services nor an archetype. The original picked at random on every load;
// this pick derives from the identity seed and the decky name, so an import
// is reproducible. Windows-only services are candidates only for Windows
// personas, and a service whose ports clash with one already picked is
// skipped.
func iniRandomServices(seed, decky string, fam persona.Family) []string {
	r := persona.NewIdentity(seed, decky).Rand("ini-services")
	var pool []service.Info
	for _, info := range service.All() {
		if !info.Fits(fam) {
			continue
		}
		pool = append(pool, info)
	}
	want := 1 + r.IntN(3)
	used := map[service.Port]bool{}
	var out []string
	for _, i := range r.Perm(len(pool)) {
		info := pool[i]
		if slices.ContainsFunc(info.Ports, func(p service.Port) bool { return used[p] }) {
			continue
		}
		for _, p := range info.Ports {
			used[p] = true
		}
		out = append(out, info.ID)
		if len(out) == want {
			break
		}
	}
	sort.Strings(out)
	return out
}

// serviceSection applies a [decky.svc] section to every member of the decky
// or pool.
func (b *iniBuilder) serviceSection(sec *iniSection) {
	dot := strings.LastIndexByte(sec.name, '.')
	owner, raw := sec.name[:dot], sec.name[dot+1:]
	slug, _ := service.Canonical(raw)
	info, _ := service.Lookup(slug)
	if owner == "" {
		b.errorf(sec.line, "", "[%s]: missing the decky name before the dot, e.g. [web.%s]", sec.name, raw)
		return
	}
	d := b.byName[owner]
	if d == nil {
		msg := fmt.Sprintf("[%s] sets service %s of decky %s, but the file has no [%s] section", sec.name, slug, owner, owner)
		if pool := b.members[owner]; pool != nil {
			msg = fmt.Sprintf("[%s]: %s is a member of pool [%s]; settings apply to the whole pool: [%s.%s]", sec.name, owner, pool.sec.name, pool.sec.name, raw)
		}
		b.errorf(sec.line, ServiceCfgUndeclared, "%s", msg)
		return
	}
	if prev := d.svcSecs[slug]; prev != nil {
		b.errorf(sec.line, "", "[%s] repeats the settings of [%s] on line %d", sec.name, prev.name, prev.line)
		return
	}
	d.svcSecs[slug] = sec
	for _, m := range d.members {
		if !slices.Contains(m.Services, slug) {
			b.errorf(sec.line, ServiceCfgUndeclared, "[%s] sets service %s, which decky %s does not run (it runs: %s)", sec.name, slug, m.Name, strings.Join(m.Services, ", "))
			return
		}
	}
	for _, k := range sec.keys {
		name := k.name
		field, ok := info.Field(name)
		if l, legacy := info.LegacyKey(name); !ok && legacy {
			ref := Ref{Kind: "service", Name: slug, Decky: d.sec.name, Key: k.name}
			if l.Setting == "" {
				b.warn(k.line, INIKeyIgnored, ref, "%s is a key of the original system that has no effect here: %s", k.name, l.Note)
				continue
			}
			if other := sec.byKey[l.Setting]; other != nil {
				b.errorf(k.line, "", "%s is the original system's name of %s, which line %d sets too", k.name, l.Setting, other.line)
				continue
			}
			b.warn(k.line, INIKeyMapped, ref, "%s (the original system's key) is imported as %s.%s", k.name, slug, l.Setting)
			name = l.Setting
			sec.byKey[name] = k // issues about the setting point at this line
			field, ok = info.Field(name)
		}
		if !ok {
			b.errorf(k.line, ServiceCfgUnknownKey, "service %s has no setting %q (it has: %s)", slug, k.name, fieldList(info))
			continue
		}
		if strings.TrimSpace(k.value) == "" {
			continue // an empty value leaves the default
		}
		if _, err := field.Parse(k.value); err != nil {
			msg := strings.TrimSuffix(err.Error(), ": "+service.ErrInvalidValue.Error())
			b.errorf(k.line, ServiceCfgInvalid, "service %s: %s", slug, msg)
			continue
		}
		if b.settingBytes += len(k.value) * len(d.members); b.settingBytes > maxINISettingSize {
			b.errorf(k.line, "", "service settings add up to more than %d bytes over all deckies", maxINISettingSize)
			return
		}
		for _, m := range d.members {
			// Parse again for each member, so that members never share a
			// list or map.
			v, _ := field.Parse(k.value)
			if m.ServiceConfig == nil {
				m.ServiceConfig = map[string]map[string]any{}
			}
			if m.ServiceConfig[slug] == nil {
				m.ServiceConfig[slug] = map[string]any{}
			}
			m.ServiceConfig[slug][name] = v
		}
	}
}

// lineOf returns the INI line a validation issue points at, or 0.
func (b *iniBuilder) lineOf(is Issue) int {
	ref := is.Object
	switch ref.Kind {
	case "lan":
		switch is.Code {
		case SubnetMalformed, SubnetOverlap:
			return b.generalLine("net")
		case GatewayMalformed, GatewayOutOfSubnet:
			return b.generalLine("gw")
		case ParentMissing, DriverUnknown:
			return b.generalLine("interface")
		}
		return b.generalLine("")
	case "decky":
		d := b.members[ref.Name]
		if d == nil {
			return 0
		}
		if l := d.keyLine("ip"); ref.Address > 0 && l > 0 {
			return l
		}
		if l := d.keyLine("distro"); is.Code == PersonaDistroUnknown && l > 0 {
			return l
		}
		if l := d.keyLine("hostname"); is.Code == NameInvalid && strings.HasPrefix(is.Message, "hostname") && l > 0 {
			return l
		}
		return d.sec.line
	case "service":
		d := b.members[ref.Decky]
		if d == nil {
			return 0
		}
		if sec := d.svcSecs[ref.Name]; sec != nil {
			if k := sec.byKey[ref.Key]; ref.Key != "" && k != nil {
				return k.line
			}
			if strings.HasPrefix(string(is.Code), "SERVICE_CFG") {
				return sec.line
			}
		}
		if l := d.keyLine("services"); l > 0 {
			return l
		}
		if l := d.keyLine("archetype"); l > 0 {
			return l
		}
		return d.sec.line
	case "custom_service":
		if sec := b.custom[ref.Name]; sec != nil {
			return sec.line
		}
	}
	return 0
}
