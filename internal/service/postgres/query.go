package postgres

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/service/serve"
)

// maxStatements caps the statements of one Query message.
const maxStatements = 64

// result is what one statement answers.
type result struct {
	cols   []column
	rows   [][]*string
	tag    string
	err    *pgError
	empty  bool
	attack string
}

// table is a bait relation.
type table struct {
	name   string
	schema string
	owner  string
	cols   []column
	rows   [][]string
}

// catalog is the decky's bait databases and tables, shared by its
// sessions; tables attackers create are kept (bounded) so \dt shows them.
type catalog struct {
	build     build
	databases []string
	owner     string
	tables    []*table // in every application database
	shadow    *table
	started   time.Time
	hostIP    string

	mu      sync.Mutex
	created map[string][]*table // database -> tables created by clients
}

var appNames = []string{"app_production", "crm", "billing", "inventory", "gitea", "keycloak", "wiki", "analytics", "erp", "helpdesk", "payroll", "shop"}

func seededDatabases(env serve.Env) []string {
	r := env.Identity.Rand("postgres-databases")
	names := slices.Clone(appNames)
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	return names[:2]
}

var (
	firstNames = []string{"james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth", "william", "susan", "richard", "jessica", "thomas", "sarah", "daniel", "karen", "matthew", "nancy"}
	lastNames  = []string{"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "wilson", "anderson", "taylor", "thomas", "moore", "martin", "jackson", "white"}
	domains    = []string{"gmail.com", "outlook.com", "yahoo.com", "icloud.com", "protonmail.com", "hotmail.com"}
	countries  = []string{"US", "GB", "DE", "FR", "CA", "NL", "ES", "IT", "SE", "AU"}
)

func newCatalog(env serve.Env, b build, dbs []string) *catalog {
	r := env.Identity.Rand("postgres-catalog")
	c := &catalog{build: b, databases: dbs, owner: b.superuser, created: map[string][]*table{}}
	if len(env.Addrs) > 0 {
		c.hostIP = env.Addrs[0].String()
	}
	now := time.Now().UTC()
	c.started = now.Add(-env.Identity.Uptime(now)).Truncate(time.Second)
	hexs := func(n int) string {
		const digits = "0123456789abcdef"
		out := make([]byte, n)
		for i := range out {
			out[i] = digits[r.IntN(16)]
		}
		return string(out)
	}
	b64 := func(n int) string {
		const al = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		out := make([]byte, n)
		for i := range out {
			out[i] = al[r.IntN(len(al))]
		}
		return string(out)
	}
	ts := func() string {
		t := c.started.Add(-time.Duration(r.IntN(900*24)) * time.Hour).Add(time.Duration(r.IntN(86400)) * time.Second)
		return t.Format("2006-01-02 15:04:05.999999-07")
	}
	users := &table{name: "users", schema: "public", owner: c.owner, cols: []column{
		{name: "id", oid: oidInt4}, {name: "username", oid: oidVarchar}, {name: "email", oid: oidVarchar},
		{name: "password_hash", oid: oidVarchar}, {name: "is_admin", oid: oidBool}, {name: "created_at", oid: oidTimestamptz}}}
	customers := &table{name: "customers", schema: "public", owner: c.owner, cols: []column{
		{name: "id", oid: oidInt4}, {name: "first_name", oid: oidVarchar}, {name: "last_name", oid: oidVarchar},
		{name: "email", oid: oidVarchar}, {name: "country", oid: oidVarchar}, {name: "created_at", oid: oidTimestamptz}}}
	keys := &table{name: "api_keys", schema: "public", owner: c.owner, cols: []column{
		{name: "id", oid: oidInt4}, {name: "user_id", oid: oidInt4}, {name: "name", oid: oidVarchar},
		{name: "token", oid: oidText}, {name: "created_at", oid: oidTimestamptz}}}
	nUsers := 6 + r.IntN(8)
	for i := 1; i <= nUsers; i++ {
		fn, ln := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		uname := fn[:1] + ln
		if i == 1 {
			uname = "admin"
		}
		admin := "f"
		if i == 1 || r.IntN(8) == 0 {
			admin = "t"
		}
		users.rows = append(users.rows, []string{strconv.Itoa(i), uname, fn + "." + ln + "@" + domains[r.IntN(len(domains))],
			"$2b$12$" + b64(53), admin, ts()})
	}
	for i := 1; i <= 8+r.IntN(12); i++ {
		fn, ln := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		customers.rows = append(customers.rows, []string{strconv.Itoa(1000 + i), strings.ToUpper(fn[:1]) + fn[1:], strings.ToUpper(ln[:1]) + ln[1:],
			fn + ln[:1] + strconv.Itoa(r.IntN(99)) + "@" + domains[r.IntN(len(domains))], countries[r.IntN(len(countries))], ts()})
	}
	for i := 1; i <= 2+r.IntN(3); i++ {
		keys.rows = append(keys.rows, []string{strconv.Itoa(i), strconv.Itoa(1 + r.IntN(nUsers)),
			[]string{"ci-deploy", "billing-sync", "backup", "monitoring", "mobile-app"}[r.IntN(5)], "sk_live_" + hexs(40), ts()})
	}
	c.tables = []*table{keys, customers, users}
	salt := env.Identity.Bytes("postgres-shadow-salt", 16)
	pw := fmt.Sprintf("%x", env.Identity.Bytes("postgres-shadow-password", 12))
	c.shadow = &table{name: "pg_shadow", schema: "pg_catalog", cols: []column{
		{name: "usename", oid: oidName}, {name: "usesysid", oid: oidOID}, {name: "usecreatedb", oid: oidBool},
		{name: "usesuper", oid: oidBool}, {name: "userepl", oid: oidBool}, {name: "usebypassrls", oid: oidBool},
		{name: "passwd", oid: oidText}, {name: "valuntil", oid: oidTimestamptz}, {name: "useconfig", oid: oidText}},
		rows: [][]string{{b.superuser, "10", "t", "t", "t", "t", scramVerifier(pw, salt, scramIterations), "", ""}}}
	return c
}

func (c *catalog) hasDatabase(db string) bool {
	switch db {
	case "postgres", "template0", "template1":
		return true
	}
	return slices.Contains(c.databases, db)
}

// tablesOf lists the relations of a database, by name.
func (c *catalog) tablesOf(db string) []*table {
	var out []*table
	if db != "postgres" && db != "template1" {
		out = append(out, c.tables...)
	}
	c.mu.Lock()
	out = append(out, c.created[db]...)
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b *table) int { return strings.Compare(a.name, b.name) })
	return out
}

func (c *catalog) lookup(db, name string) *table {
	name = relName(name)
	if name == "pg_shadow" || name == "pg_authid" {
		return c.shadow
	}
	for _, t := range c.tablesOf(db) {
		if t.name == name {
			return t
		}
	}
	return nil
}

// relName strips a schema and quotes from a relation reference.
func relName(s string) string {
	s = strings.TrimRight(s, ";),")
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return strings.ToLower(strings.Trim(s, `"`))
}

// splitStatements splits a Query's text on semicolons outside quotes,
// dollar quotes and comments.
func splitStatements(q string) []string {
	var out []string
	start := 0
	emit := func(end int) {
		if s := strings.TrimSpace(q[start:end]); s != "" && len(out) < maxStatements {
			out = append(out, s)
		}
	}
	for i := 0; i < len(q); i++ {
		switch ch := q[i]; {
		case ch == '\'' || ch == '"':
			j := strings.IndexByte(q[i+1:], ch)
			if j < 0 {
				i = len(q)
			} else {
				i += j + 1
			}
		case ch == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				i = len(q)
			} else {
				i += j
			}
		case ch == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				i = len(q)
			} else {
				i += j + 3
			}
		case ch == '$' && i+1 < len(q) && (q[i+1] == '$' || isIdent(q[i+1])):
			k := strings.IndexByte(q[i+1:], '$')
			if k < 0 {
				continue
			}
			tag := q[i : i+k+2]
			if !validTag(tag) {
				continue
			}
			j := strings.Index(q[i+len(tag):], tag)
			if j < 0 {
				i = len(q)
			} else {
				i += len(tag) + j + len(tag) - 1
			}
		case ch == ';':
			emit(i)
			start = i + 1
		}
	}
	if start < len(q) {
		emit(len(q))
	}
	return out
}

func isIdent(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func validTag(t string) bool {
	for i := 1; i < len(t)-1; i++ {
		if !isIdent(t[i]) {
			return false
		}
	}
	return len(t) >= 2 && (len(t) == 2 || !(t[1] >= '0' && t[1] <= '9'))
}

var (
	spaceRE   = regexp.MustCompile(`\s+`)
	commentRE = regexp.MustCompile(`(?s)--[^\n]*|/\*.*?\*/`)
	aliasRE   = regexp.MustCompile(`(?i)\bas\s+"([^"]+)"`)
	fromRE    = regexp.MustCompile(`(?i)\bfrom\s+([a-z0-9_."]+)`)
	intoRE    = regexp.MustCompile(`(?i)^(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?)\s+(?:only\s+)?([a-z0-9_."]+)`)
	limitRE   = regexp.MustCompile(`(?i)\blimit\s+(\d+)`)
	funcRE    = regexp.MustCompile(`(?i)^([a-z_][a-z0-9_.]*)\s*\((.*)\)$`)
	programRE = regexp.MustCompile(`(?i)\bprogram\s+'((?:[^']|'')*)'`)
	fileArgRE = regexp.MustCompile(`'((?:[^']|'')*)'`)
	tableRE   = regexp.MustCompile(`(?i)^create\s+(?:temp(?:orary)?\s+|unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([a-z0-9_."]+)`)
	identRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	dropRE    = regexp.MustCompile(`(?i)^drop\s+table\s+(if\s+exists\s+)?([a-z0-9_."]+)`)
)

// normalize lowercases, drops comments and collapses whitespace.
func normalize(q string) string {
	q = commentRE.ReplaceAllString(q, " ")
	q = spaceRE.ReplaceAllString(strings.TrimSpace(q), " ")
	return strings.ToLower(strings.TrimRight(q, "; "))
}

// position is the 1-based character position of word in q, as errors
// report it.
func position(q, word string) int {
	i := strings.Index(strings.ToLower(q), strings.ToLower(word))
	if i < 0 || i > len(q) {
		return 1
	}
	return len([]rune(q[:i])) + 1
}

func (c *catalog) syntaxError(q, near string) *pgError {
	return &pgError{severity: "ERROR", code: "42601", msg: fmt.Sprintf("syntax error at or near \"%s\"", near),
		position: position(q, near), file: "scan.l", line: c.build.lines.syntax, routine: "scanner_yyerror"}
}

func (c *catalog) noRelation(q, rel string) *pgError {
	name := strings.Trim(rel, `"`)
	return &pgError{severity: "ERROR", code: "42P01", msg: fmt.Sprintf("relation \"%s\" does not exist", name),
		position: position(q, rel), file: "parse_relation.c", line: c.build.lines.relation, routine: "parserOpenTable"}
}

func (c *catalog) noColumn(q, col string) *pgError {
	return &pgError{severity: "ERROR", code: "42703", msg: fmt.Sprintf("column \"%s\" does not exist", strings.Trim(col, `"`)),
		position: position(q, col), file: "parse_relation.c", line: c.build.lines.column, routine: "errorMissingColumn"}
}

func str(s string) *string { return &s }

func textCols(names ...string) []column {
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{name: n, oid: oidText}
	}
	return out
}

// run answers one statement.
func (c *catalog) run(ss *session, q string) result {
	n := normalize(q)
	if n == "" {
		return result{empty: true}
	}
	first, rest, _ := strings.Cut(n, " ")
	first = strings.TrimLeft(first, "(")
	switch first {
	case "select", "with":
		return c.selectStmt(ss, q, n)
	case "show":
		return c.show(ss, q, strings.TrimSpace(rest))
	case "begin", "start":
		if first == "start" {
			return result{tag: "START TRANSACTION"}
		}
		return result{tag: "BEGIN"}
	case "commit", "end":
		return result{tag: "COMMIT"}
	case "rollback", "abort":
		return result{tag: "ROLLBACK"}
	case "set":
		return result{tag: "SET"}
	case "reset":
		return result{tag: "RESET"}
	case "discard":
		return result{tag: "DISCARD " + strings.ToUpper(rest)}
	case "deallocate", "listen", "unlisten", "notify", "savepoint", "release", "checkpoint", "vacuum", "analyze", "do", "grant", "revoke":
		return result{tag: strings.ToUpper(first)}
	case "copy":
		return c.copyStmt(q, n)
	case "create":
		return c.create(ss, q, n, rest)
	case "drop":
		return c.drop(ss, q, n, rest)
	case "alter":
		obj, _, _ := strings.Cut(rest, " ")
		if obj == "user" {
			obj = "role"
		}
		return result{tag: "ALTER " + strings.ToUpper(obj)}
	case "insert", "update", "delete", "truncate":
		m := intoRE.FindStringSubmatch(q)
		if m == nil {
			return result{err: c.syntaxError(q, strings.Fields(q + " ;")[min(1, len(strings.Fields(q))-1)])}
		}
		if c.lookup(ss.db, m[1]) == nil {
			return result{err: c.noRelation(q, m[1])}
		}
		switch first {
		case "insert":
			return result{tag: fmt.Sprintf("INSERT 0 %d", 1+strings.Count(n, "),("))}
		case "truncate":
			return result{tag: "TRUNCATE TABLE"}
		}
		return result{tag: strings.ToUpper(first) + " 0"}
	}
	tok := strings.Fields(q)[0]
	return result{err: c.syntaxError(q, strings.TrimRight(tok, ";"))}
}

func (c *catalog) copyStmt(q, n string) result {
	if m := programRE.FindStringSubmatch(q); m != nil {
		prog := strings.ReplaceAll(m[1], "''", "'")
		routine, file := "ClosePipeFromProgram", "copyfrom.c"
		if strings.Contains(n, " to program") {
			routine, file = "ClosePipeToProgram", "copyto.c"
		}
		return result{attack: "copy_from_program", err: &pgError{severity: "ERROR", code: "38000",
			msg: fmt.Sprintf("program \"%s\" failed", prog), detail: "child process exited with exit code 1",
			file: file, line: c.build.lines.program, routine: routine}}
	}
	if m := fileArgRE.FindStringSubmatch(q); m != nil && !strings.Contains(n, "stdin") && !strings.Contains(n, "stdout") {
		return result{attack: "file_read", err: &pgError{severity: "ERROR", code: "42501",
			msg: fmt.Sprintf("could not open file \"%s\" for reading: Permission denied", m[1]), file: "copyfrom.c", line: 1540, routine: "BeginCopyFrom"}}
	}
	return result{err: &pgError{severity: "ERROR", code: "0A000", msg: "COPY from stdin failed: COPY not supported in this session"}}
}

func (c *catalog) create(ss *session, q, n, rest string) result {
	if m := tableRE.FindStringSubmatch(q); m != nil {
		name := relName(m[1])
		if c.lookup(ss.db, name) != nil {
			if strings.Contains(n, "if not exists") {
				return result{tag: "CREATE TABLE"}
			}
			return result{err: &pgError{severity: "ERROR", code: "42P07", msg: fmt.Sprintf("relation \"%s\" already exists", name),
				file: "heap.c", line: 1164, routine: "heap_create_with_catalog"}}
		}
		if ss.dry {
			return result{tag: "CREATE TABLE"}
		}
		c.mu.Lock()
		if len(c.created[ss.db]) < 64 && len(c.created) < 64 {
			c.created[ss.db] = append(c.created[ss.db], &table{name: name, schema: "public", owner: ss.user, cols: textCols("data")})
		}
		c.mu.Unlock()
		return result{tag: "CREATE TABLE"}
	}
	words := strings.Fields(rest)
	if len(words) == 0 {
		return result{err: c.syntaxError(q+" ", "end of input")}
	}
	obj := words[0]
	if obj == "or" && len(words) > 2 {
		obj = words[2]
	}
	if obj == "unique" {
		obj = "index"
	}
	attack := ""
	switch {
	case obj == "extension":
		attack = "extension"
	case obj == "function" && (strings.Contains(n, "language c") || strings.Contains(n, ".so'")):
		attack = "udf_library"
	case obj == "user":
		obj = "role"
	}
	return result{tag: "CREATE " + strings.ToUpper(obj), attack: attack}
}

func (c *catalog) drop(ss *session, q, n, rest string) result {
	if m := dropRE.FindStringSubmatch(q); m != nil && !ss.dry {
		name := relName(m[2])
		c.mu.Lock()
		tabs := c.created[ss.db]
		i := slices.IndexFunc(tabs, func(t *table) bool { return t.name == name })
		if i >= 0 {
			c.created[ss.db] = slices.Delete(tabs, i, i+1)
		}
		c.mu.Unlock()
		if i >= 0 || c.lookup(ss.db, name) != nil || m[1] != "" {
			return result{tag: "DROP TABLE"}
		}
		return result{err: &pgError{severity: "ERROR", code: "42P01", msg: fmt.Sprintf("table \"%s\" does not exist", name),
			file: "tablecmds.c", line: 1304, routine: "DropErrorMsgNonExistent"}}
	}
	obj, _, _ := strings.Cut(rest, " ")
	if obj == "user" {
		obj = "role"
	}
	return result{tag: "DROP " + strings.ToUpper(obj)}
}

// settings SHOW and current_setting answer.
func (c *catalog) setting(ss *session, name string) (string, string, bool) {
	b := c.build
	dir := "/var/lib/postgresql/" + strconv.Itoa(b.major) + "/main"
	conf := "/etc/postgresql/" + strconv.Itoa(b.major) + "/main/"
	if strings.Contains(b.triple, "redhat") || strings.Contains(b.triple, "alpine") || !strings.Contains(b.version, "(") {
		dir = "/var/lib/pgsql/data"
		if strings.Contains(b.triple, "alpine") {
			dir = "/var/lib/postgresql/data"
		}
		conf = dir + "/"
	}
	enc := "UTF8"
	for _, kv := range ss.parameterStatus() {
		if kv[0] == "client_encoding" {
			enc = kv[1]
		}
	}
	vals := map[string][2]string{
		"server_version":              {"server_version", b.version},
		"server_version_num":          {"server_version_num", versionNum(b)},
		"server_encoding":             {"server_encoding", "UTF8"},
		"client_encoding":             {"client_encoding", enc},
		"timezone":                    {"TimeZone", b.tz},
		"datestyle":                   {"DateStyle", "ISO, MDY"},
		"is_superuser":                {"is_superuser", map[bool]string{true: "on", false: "off"}[ss.user == b.superuser]},
		"data_directory":              {"data_directory", dir},
		"config_file":                 {"config_file", conf + "postgresql.conf"},
		"hba_file":                    {"hba_file", conf + "pg_hba.conf"},
		"port":                        {"port", "5432"},
		"listen_addresses":            {"listen_addresses", "*"},
		"max_connections":             {"max_connections", "100"},
		"ssl":                         {"ssl", map[bool]string{true: "on", false: "off"}[ss.srv.ssl]},
		"password_encryption":         {"password_encryption", map[bool]string{true: "scram-sha-256", false: "md5"}[b.major >= 14]},
		"standard_conforming_strings": {"standard_conforming_strings", "on"},
		"integer_datetimes":           {"integer_datetimes", "on"},
		"search_path":                 {"search_path", `"$user", public`},
		"shared_buffers":              {"shared_buffers", "128MB"},
		"application_name":            {"application_name", ""},
		"transaction_isolation":       {"transaction_isolation", "read committed"},
	}
	if name == "application_name" {
		v, _ := ss.clientParam("application_name")
		return "application_name", v, true
	}
	v, ok := vals[name]
	return v[0], v[1], ok
}

func versionNum(b build) string {
	num := b.number()
	parts := strings.Split(num, ".")
	atoi := func(i int) int {
		if i >= len(parts) {
			return 0
		}
		v, _ := strconv.Atoi(parts[i])
		return v
	}
	if b.major >= 10 {
		return strconv.Itoa(atoi(0)*10000 + atoi(1))
	}
	return strconv.Itoa(atoi(0)*10000 + atoi(1)*100 + atoi(2))
}

func (c *catalog) show(ss *session, q, what string) result {
	what = strings.Trim(what, `"`)
	col, v, ok := c.setting(ss, what)
	if !ok {
		return result{err: &pgError{severity: "ERROR", code: "42704", msg: fmt.Sprintf("unrecognized configuration parameter \"%s\"", what),
			file: "guc.c", line: 8246, routine: "GetConfigOptionByName"}}
	}
	return result{cols: textCols(col), rows: [][]*string{{str(v)}}, tag: "SHOW"}
}

// aliasRows answers a catalog query by its column aliases (psql's \l
// and \dt), whatever the psql version's exact text.
func aliasRows(q string, rows []map[string]string) result {
	var cols []column
	for _, m := range aliasRE.FindAllStringSubmatch(q, 32) {
		oid := int32(oidText)
		if m[1] == "Name" || m[1] == "Owner" || m[1] == "Schema" {
			oid = oidName
		}
		cols = append(cols, column{name: m[1], oid: oid})
	}
	if len(cols) == 0 {
		cols = textCols("?column?")
	}
	res := result{cols: cols, tag: fmt.Sprintf("SELECT %d", len(rows))}
	for _, r := range rows {
		row := make([]*string, len(cols))
		for i, c := range cols {
			v, ok := r[c.name]
			if !ok {
				v = ""
			}
			row[i] = str(v)
		}
		res.rows = append(res.rows, row)
	}
	return res
}

func (c *catalog) databaseRows() []map[string]string {
	priv := "=c/" + c.owner + "\n" + c.owner + "=CTc/" + c.owner
	mk := func(name, acl, desc, size string) map[string]string {
		return map[string]string{"Name": name, "Owner": c.owner, "Encoding": "UTF8", "Collate": c.build.collate, "Ctype": c.build.collate,
			"ICU Locale": "", "Locale Provider": "libc", "Locale": c.build.collate, "ICU Rules": "", "Access privileges": acl,
			"Size": size, "Tablespace": "pg_default", "Description": desc}
	}
	names := append([]string{"postgres"}, c.databases...)
	names = append(names, "template0", "template1")
	slices.Sort(names)
	var out []map[string]string
	for i, n := range names {
		switch n {
		case "postgres":
			out = append(out, mk(n, "", "default administrative connection database", "7453 kB"))
		case "template0":
			out = append(out, mk(n, priv, "unmodifiable empty database", "7297 kB"))
		case "template1":
			out = append(out, mk(n, priv, "default template for new databases", "7525 kB"))
		default:
			out = append(out, mk(n, "", "", fmt.Sprintf("%d MB", 9+(len(n)*37+i*11)%480)))
		}
	}
	return out
}

func (c *catalog) relationRows(db string) []map[string]string {
	var out []map[string]string
	for _, t := range c.tablesOf(db) {
		out = append(out, map[string]string{"Schema": t.schema, "Name": t.name, "Type": "table", "Owner": t.owner,
			"Persistence": "permanent", "Access method": "heap", "Size": fmt.Sprintf("%d kB", 16+8*len(t.rows)), "Description": ""})
	}
	return out
}

// selectStmt answers a SELECT.
func (c *catalog) selectStmt(ss *session, q, n string) result {
	switch {
	case strings.Contains(n, "pg_database"):
		return aliasRows(q, c.databaseRows())
	case strings.Contains(n, "pg_class") && strings.Contains(n, "relkind") && len(aliasRE.FindAllString(q, 2)) > 0:
		return aliasRows(q, c.relationRows(ss.db))
	}
	if m := fromRE.FindStringSubmatch(q); m != nil {
		t := c.lookup(ss.db, m[1])
		if t == nil {
			return result{err: c.noRelation(q, m[1])}
		}
		return c.selectTable(q, n, t)
	}
	return c.selectExprs(ss, q, n)
}

// selectList is the text between SELECT and FROM (or the end).
func selectList(n string) string {
	s := strings.TrimPrefix(n, "select ")
	if i := strings.Index(s, " from "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(strings.TrimPrefix(s, "distinct "))
}

// splitTop splits on commas outside parentheses and quotes.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	inQ := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			inQ = !inQ
		case '(':
			if !inQ {
				depth++
			}
		case ')':
			if !inQ {
				depth--
			}
		case ',':
			if !inQ && depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
		if len(out) > 64 {
			break
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func (c *catalog) selectTable(q, n string, t *table) result {
	list := selectList(n)
	var idx []int
	var cols []column
	if list == "count(*)" || list == "count(1)" {
		v := strconv.Itoa(len(t.rows))
		return result{cols: []column{{name: "count", oid: oidInt8}}, rows: [][]*string{{str(v)}}, tag: "SELECT 1"}
	}
	for _, e := range splitTop(list) {
		if e == "*" || strings.HasSuffix(e, ".*") {
			for i, col := range t.cols {
				idx, cols = append(idx, i), append(cols, col)
			}
			continue
		}
		name, alias, _ := strings.Cut(e, " as ")
		name = strings.TrimSpace(name)
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		i := slices.IndexFunc(t.cols, func(col column) bool { return col.name == strings.Trim(name, `"`) })
		if i < 0 {
			return result{err: c.noColumn(q, name)}
		}
		col := t.cols[i]
		if alias = strings.Trim(strings.TrimSpace(alias), `"`); alias != "" {
			col.name = alias
		}
		idx, cols = append(idx, i), append(cols, col)
	}
	limit := len(t.rows)
	if m := limitRE.FindStringSubmatch(n); m != nil {
		if v, err := strconv.Atoi(m[1]); err == nil && v < limit {
			limit = v
		}
	}
	res := result{cols: cols, tag: fmt.Sprintf("SELECT %d", limit)}
	for _, r := range t.rows[:limit] {
		row := make([]*string, len(idx))
		for j, i := range idx {
			if r[i] == "" && (t.cols[i].oid == oidTimestamptz || t.cols[i].name == "useconfig") {
				continue
			}
			row[j] = str(r[i])
		}
		res.rows = append(res.rows, row)
	}
	return res
}

// fileFuncs are the superuser file and program functions attackers call.
var fileFuncs = map[string]string{
	"pg_read_file": "file_read", "pg_read_binary_file": "file_read", "pg_ls_dir": "file_read", "pg_stat_file": "file_read",
	"lo_import": "large_object", "lo_export": "large_object", "dblink": "dblink", "dblink_connect": "dblink",
}

// selectExprs answers a SELECT without FROM: one row of known
// expressions.
func (c *catalog) selectExprs(ss *session, q, n string) result {
	list := selectList(n)
	if list == "" {
		return result{cols: []column{}, rows: [][]*string{{}}, tag: "SELECT 1"}
	}
	var cols []column
	var row []*string
	for _, e := range splitTop(list) {
		expr, alias, _ := strings.Cut(e, " as ")
		expr = strings.TrimSpace(expr)
		col, val, errp, attack := c.expr(ss, q, expr)
		if errp != nil {
			return result{err: errp, attack: attack}
		}
		if a := strings.Trim(strings.TrimSpace(alias), `"`); a != "" {
			col.name = a
		}
		cols = append(cols, col)
		row = append(row, val)
	}
	return result{cols: cols, rows: [][]*string{row}, tag: "SELECT 1"}
}

func (c *catalog) expr(ss *session, q, e string) (column, *string, *pgError, string) {
	now := time.Now().UTC().Format("2006-01-02 15:04:05.999999-07")
	switch e {
	case "version()":
		return column{name: "version", oid: oidText}, str(c.build.versionString()), nil, ""
	case "current_user", "user", "session_user", "current_role", "current_user()":
		return column{name: strings.TrimSuffix(e, "()"), oid: oidName}, str(ss.user), nil, ""
	case "current_database()":
		return column{name: "current_database", oid: oidName}, str(ss.db), nil, ""
	case "current_schema()", "current_schema":
		return column{name: "current_schema", oid: oidName}, str("public"), nil, ""
	case "pg_backend_pid()":
		return column{name: "pg_backend_pid", oid: oidInt4}, str(strconv.Itoa(int(ss.srv.pid.Load()))), nil, ""
	case "now()", "current_timestamp", "localtimestamp", "statement_timestamp()", "clock_timestamp()":
		return column{name: strings.TrimSuffix(e, "()"), oid: oidTimestamptz}, str(now), nil, ""
	case "pg_postmaster_start_time()":
		return column{name: "pg_postmaster_start_time", oid: oidTimestamptz}, str(c.started.Format("2006-01-02 15:04:05.999999-07")), nil, ""
	case "pg_is_in_recovery()":
		return column{name: "pg_is_in_recovery", oid: oidBool}, str("f"), nil, ""
	case "inet_server_addr()":
		return column{name: "inet_server_addr", oid: oidText}, str(c.hostIP), nil, ""
	case "inet_server_port()":
		return column{name: "inet_server_port", oid: oidInt4}, str("5432"), nil, ""
	case "inet_client_addr()":
		return column{name: "inet_client_addr", oid: oidText}, str(ss.Session.Source().IP), nil, ""
	case "true", "false":
		return column{name: "bool", oid: oidBool}, str(e[:1]), nil, ""
	case "null":
		return column{name: "?column?", oid: oidText}, nil, nil, ""
	}
	if _, err := strconv.ParseInt(e, 10, 32); err == nil {
		return column{name: "?column?", oid: oidInt4}, str(strings.TrimLeft(e, "+")), nil, ""
	}
	if len(e) >= 2 && e[0] == '\'' && e[len(e)-1] == '\'' {
		orig := e
		if i := strings.Index(strings.ToLower(q), e); i >= 0 && i+len(e) <= len(q) && strings.ToLower(q[i:i+len(e)]) == e {
			orig = q[i : i+len(e)]
		}
		return column{name: "?column?", oid: oidText}, str(strings.ReplaceAll(orig[1:len(orig)-1], "''", "'")), nil, ""
	}
	if m := funcRE.FindStringSubmatch(e); m != nil {
		name, args := m[1], strings.TrimSpace(m[2])
		switch name {
		case "current_setting":
			_, v, ok := c.setting(ss, strings.Trim(args, "' "))
			if !ok {
				return column{}, nil, &pgError{severity: "ERROR", code: "42704", msg: fmt.Sprintf("unrecognized configuration parameter \"%s\"", strings.Trim(args, "' ")),
					file: "guc.c", line: 8246, routine: "GetConfigOptionByName"}, ""
			}
			return column{name: "current_setting", oid: oidText}, str(v), nil, ""
		case "pg_sleep":
			if f, err := strconv.ParseFloat(args, 64); err == nil && f > 0 && !ss.dry {
				time.Sleep(time.Duration(min(f, 10) * float64(time.Second)))
			}
			return column{name: "pg_sleep", oid: oidVoid}, str(""), nil, ""
		}
		if kind, ok := fileFuncs[name]; ok {
			arg := strings.Trim(args, "' ")
			if m := fileArgRE.FindStringSubmatch(q); m != nil {
				arg = m[1]
			}
			msg := fmt.Sprintf("could not open file \"%s\" for reading: Permission denied", arg)
			if name == "pg_ls_dir" {
				msg = fmt.Sprintf("could not open directory \"%s\": Permission denied", arg)
			}
			return column{}, nil, &pgError{severity: "ERROR", code: "42501", msg: msg, file: "genfile.c", line: 118, routine: "read_binary_file"}, kind
		}
		var types []string
		for _, a := range splitTop(args) {
			switch {
			case a == "":
			case strings.HasPrefix(a, "'"):
				types = append(types, "unknown")
			default:
				if _, err := strconv.Atoi(a); err == nil {
					types = append(types, "integer")
				} else {
					types = append(types, "unknown")
				}
			}
		}
		return column{}, nil, &pgError{severity: "ERROR", code: "42883", msg: fmt.Sprintf("function %s(%s) does not exist", name, strings.Join(types, ", ")),
			hint:     "No function matches the given name and argument types. You might need to add explicit type casts.",
			position: position(q, name), file: "parse_func.c", line: 636, routine: "ParseFuncOrColumn"}, ""
	}
	if identRE.MatchString(e) {
		return column{}, nil, c.noColumn(q, e), ""
	}
	tok := strings.FieldsFunc(e, func(r rune) bool { return r == ' ' || r == '(' || r == ')' })
	near := e
	if len(tok) > 0 {
		near = tok[0]
	}
	return column{}, nil, c.syntaxError(q, near), ""
}
