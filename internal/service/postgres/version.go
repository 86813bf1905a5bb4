package postgres

import (
	"strconv"
	"strings"
)

// build is one PostgreSQL package a persona can run.
type build struct {
	version    string // server_version, e.g. "15.18 (Debian 15.18-0+deb12u1)"
	triple     string // x86_64-pc-linux-gnu
	compiler   string // gcc (Debian 12.2.0-14+deb12u1) 12.2.0
	ssl        bool   // the package's default cluster has ssl = on
	major      int    // 15, 14, ... (9 for 9.x)
	minor      int    // 9.2 -> 2 (only meaningful before 10)
	lines      srcLines
	superuser  string
	tz         string
	collate    string
	icuColumns bool
}

// srcLines are the source positions a version's errors name (F and L
// fields). Measured on the real server where it is installed (15.18);
// the others come from nmap's fingerprints of the postmaster line (where
// it knows the release) and are otherwise estimates.
type srcLines struct {
	protocol  int // postmaster.c: unsupported frontend protocol
	layout    int // postmaster.c: invalid startup packet layout
	noUser    int // postmaster.c: no PostgreSQL user name specified
	sslData   int // postmaster.c: received unencrypted data after SSL request
	authFail  int // auth.c: auth_failed
	saslMsg   int // auth-sasl.c (auth.c before 14): expected SASL response
	saslMech  int // auth-scram.c: invalid SASL mechanism
	pwMsg     int // auth.c: expected password response
	noDB      int // postinit.c: database does not exist
	noConnect int // postinit.c: database is not currently accepting connections
	frontend  int // postgres.c: invalid frontend message type
	syntax    int // scan.l: scanner_yyerror
	relation  int // parse_relation.c: parserOpenTable
	column    int // parse_relation.c: errorMissingColumn
	program   int // copyfrom.c: ClosePipeFromProgram
}

// lines15 are PostgreSQL 15.18's, read from the real server's verbose
// log (pwMsg, noConnect and frontend are estimates).
var lines15 = srcLines{protocol: 2222, layout: 2334, noUser: 2351, sslData: 2136, authFail: 334, saslMsg: 95, saslMech: 256, pwMsg: 710,
	noDB: 948, noConnect: 962, frontend: 4630, syntax: 1188, relation: 1392, column: 3665, program: 1622}

// builds maps a distro slug to the PostgreSQL its repositories ship.
var builds = map[string]build{
	"debian":   {version: "15.18 (Debian 15.18-0+deb12u1)", triple: "x86_64-pc-linux-gnu", compiler: "gcc (Debian 12.2.0-14+deb12u1) 12.2.0", ssl: true, major: 15, lines: lines15},
	"ubuntu22": {version: "14.19 (Ubuntu 14.19-0ubuntu0.22.04.1)", triple: "x86_64-pc-linux-gnu", compiler: "gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0", ssl: true, major: 14},
	"ubuntu20": {version: "12.22 (Ubuntu 12.22-0ubuntu0.20.04.1)", triple: "x86_64-pc-linux-gnu", compiler: "gcc (Ubuntu 9.4.0-1ubuntu1~20.04.2) 9.4.0", ssl: true, major: 12},
	"rocky9":   {version: "13.16", triple: "x86_64-redhat-linux-gnu", compiler: "gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3)", major: 13},
	"centos7":  {version: "9.2.24", triple: "x86_64-redhat-linux-gnu", compiler: "gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)", major: 9, minor: 2},
	"alpine":   {version: "16.3", triple: "x86_64-alpine-linux-musl", compiler: "gcc (Alpine 13.2.1_git20231014) 13.2.1 20231014", major: 16},
	"fedora":   {version: "15.7", triple: "x86_64-redhat-linux-gnu", compiler: "gcc (GCC) 13.2.1 20240316 (Red Hat 13.2.1-7)", major: 15},
	"kali":     {version: "16.3 (Debian 16.3-1)", triple: "x86_64-pc-linux-gnu", compiler: "gcc (Debian 13.2.0-25) 13.2.0", ssl: true, major: 16},
	"arch":     {version: "16.3", triple: "x86_64-pc-linux-gnu", compiler: "gcc (GCC) 14.1.1 20240522", major: 16},
}

// buildFor picks the persona's build, or one for an operator's version.
func buildFor(slug, override string) build {
	b, ok := builds[slug]
	if !ok {
		b = builds["debian"]
	}
	if override != "" {
		b.version = override
		num, _, _ := strings.Cut(override, " ")
		parts := strings.Split(num, ".")
		b.major, _ = strconv.Atoi(parts[0])
		if b.major < 10 && len(parts) > 1 {
			b.minor, _ = strconv.Atoi(parts[1])
		}
		b.lines = srcLines{}
		if b.major == 0 {
			b.major = 15
		}
	}
	if b.lines == (srcLines{}) {
		b.lines = estimateLines(b.major)
	}
	b.superuser = "postgres"
	b.tz = "Etc/UTC"
	if b.collate == "" {
		b.collate = "C.UTF-8"
		if b.major < 12 || strings.Contains(b.triple, "redhat") {
			b.collate = "en_US.UTF-8"
		}
	}
	b.icuColumns = b.major >= 15
	return b
}

// estimateLines gives the source positions for versions not measured:
// the postmaster line nmap's fingerprint database lists for the latest
// release of that major it knows (or, for a newer major, one it does not
// list, so nmap softmatches as it does for the real server), the rest
// near their 15.x positions.
func estimateLines(major int) srcLines {
	l := lines15
	switch {
	case major >= 16:
		l.protocol, l.authFail = 2209, 323
	case major == 14:
		l.protocol, l.authFail = 2151, 333
	case major == 13:
		l.protocol, l.authFail = 2140, 347
	case major == 12:
		l.protocol, l.authFail = 2126, 334
	case major == 9:
		l.protocol, l.authFail = 1755, 285
	case major < 15:
		l.protocol = 2100
	}
	return l
}

// number is the bare version ("15.18").
func (b build) number() string {
	n, _, _ := strings.Cut(b.version, " ")
	return n
}

// versionString is what SELECT version() returns.
func (b build) versionString() string {
	return "PostgreSQL " + b.version + " on " + b.triple + ", compiled by " + b.compiler + ", 64-bit"
}

// scramDefault tells whether the version's default password_encryption
// is scram-sha-256 (14 and later; SCRAM exists since 10).
func (b build) scramDefault() bool { return b.major >= 14 }

// hasV tells whether ErrorResponse carries the non-localized V field (9.6+).
func (b build) hasV() bool { return b.major >= 10 || (b.major == 9 && b.minor >= 6) }

// earliestProtocol is the oldest protocol the server accepts ("3.0" since
// 14 removed protocol 2, "1.0" before).
func (b build) earliestProtocol() string {
	if b.major >= 14 {
		return "3.0"
	}
	return "1.0"
}
