package topology

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

const iniTestSeed = "ini-test-seed"

// importINIFile imports a file of testdata/ini with the test seed.
func importINIFile(t *testing.T, name string) (*Spec, []Issue, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "ini", name))
	if err != nil {
		t.Fatal(err)
	}
	return ImportINI(bytes.NewReader(data), INIOptions{Seed: iniTestSeed})
}

// iniErrors flattens an import error into its *INIErrors.
func iniErrors(t *testing.T, err error) []*INIError {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []*INIError
	for _, e := range errs {
		var ie *INIError
		if !errors.As(e, &ie) {
			t.Fatalf("error %v (%T) is not an *INIError", e, e)
		}
		out = append(out, ie)
	}
	return out
}

func TestImportINIFull(t *testing.T) {
	spec, warnings, err := importINIFile(t, "full.ini")
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}

	t.Run("topology", func(t *testing.T) {
		if spec.Name != "ini" || spec.Seed != iniTestSeed {
			t.Errorf("name %q seed %q", spec.Name, spec.Seed)
		}
		want := []LAN{{Name: "lan", Subnet: "192.168.50.0/24", Gateway: "192.168.50.1", Driver: Macvlan, Parent: "eth0", DMZ: true}}
		if !slices.Equal(spec.LANs, want) {
			t.Errorf("LANs = %+v, want %+v", spec.LANs, want)
		}
		wantCustom := CustomService{Name: "jenkins", Image: "jenkins/jenkins:lts",
			Exec: []string{"/usr/bin/tini", "--", "/usr/local/bin/jenkins.sh"}, Ports: []string{"8080", "50000/tcp"}}
		if len(spec.Custom) != 1 || spec.Custom[0].Name != wantCustom.Name || spec.Custom[0].Image != wantCustom.Image ||
			!slices.Equal(spec.Custom[0].Exec, wantCustom.Exec) || !slices.Equal(spec.Custom[0].Ports, wantCustom.Ports) {
			t.Errorf("custom = %+v, want %+v", spec.Custom, wantCustom)
		}
		if err := Validate(spec, Options{}).Err(); err != nil {
			t.Errorf("validate: %v", err)
		}
	})

	type want struct {
		name, ip, os, distro, archetype string
		services                        []string
	}
	ws := func(n int, ip, distro string) want {
		return want{"ws-" + []string{"", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10"}[n], ip, "windows", distro, "windows-workstation", []string{"smb", "rdp"}}
	}
	wants := []want{
		{"dc01", "192.168.50.10", "windows_server", "win2019", "domain-controller", []string{"ldap", "smb", "rdp", "llmnr"}},
		ws(1, "192.168.50.2", "win11"),
		ws(2, "192.168.50.3", "win10"),
		ws(3, "192.168.50.4", "win11"),
		ws(4, "192.168.50.5", "win10"),
		ws(5, "192.168.50.6", "win11"),
		ws(6, "192.168.50.7", "win10"),
		ws(7, "192.168.50.8", "win11"),
		ws(8, "192.168.50.9", "win10"),
		ws(9, "192.168.50.11", "win11"), // .10 is dc01's
		ws(10, "192.168.50.12", "win10"),
		{"sql01", "192.168.50.13", "windows_server", "win2022", "", []string{"mssql", "smb"}},
		{"web01", "192.168.50.20", "linux", "ubuntu22", "web-server", []string{"http", "https", "ftp", "ssh"}},
		{"mail", "192.168.50.14", "linux", "ubuntu22", "mail-server", []string{"smtp", "pop3", "imap"}},
		{"relay", "192.168.50.15", "linux", "alpine", "", []string{"smtp_relay", "dns"}},
		{"db01", "192.168.50.16", "linux", "ubuntu22", "database-server", []string{"mysql", "postgres", "redis", "mongodb", "elasticsearch"}},
		{"devops", "192.168.50.17", "linux", "ubuntu22", "devops-host", []string{"docker_api", "k8s", "ssh"}},
		{"plc", "192.168.50.18", "embedded", "busybox", "industrial-control", []string{"ics", "snmp", "mqtt"}},
		{"cam", "192.168.50.19", "embedded", "busybox", "", []string{"telnet", "tftp", "vnc"}},
		{"voip", "192.168.50.21", "linux", "ubuntu22", "voip-server", []string{"sip"}}, // .20 is web01's
		{"mon", "192.168.50.22", "linux", "debian", "monitoring-node", []string{"snmp", "ssh"}},
		{"files", "192.168.50.23", "linux", "debian", "file-server", []string{"smb", "ftp", "ssh", "llmnr"}},
		{"ci", "192.168.50.24", "linux", "centos7", "", []string{"jenkins", "ssh"}},
		{"legacy", "192.168.50.25", "linux", "alpine", "", nil}, // services picked from the seed
	}
	t.Run("deckies", func(t *testing.T) {
		var names []string
		for _, d := range spec.Deckies {
			names = append(names, d.Name)
		}
		var wantNames []string
		for _, w := range wants {
			wantNames = append(wantNames, w.name)
		}
		if !slices.Equal(names, wantNames) {
			t.Fatalf("deckies = %v\nwant      %v", names, wantNames)
		}
	})
	for i, w := range wants {
		t.Run("decky/"+w.name, func(t *testing.T) {
			d := spec.Deckies[i]
			if len(d.Addresses) != 1 || d.Addresses[0] != (Address{LAN: "lan", IP: w.ip}) {
				t.Errorf("addresses = %+v, want lan %s", d.Addresses, w.ip)
			}
			p := d.Persona
			if p.OS != w.os || p.Distro != w.distro || p.Archetype != w.archetype {
				t.Errorf("persona = %+v, want os %s distro %s archetype %q", p, w.os, w.distro, w.archetype)
			}
			if p.Hostname == "" {
				t.Error("no hostname")
			}
			if w.services != nil && !slices.Equal(d.Services, w.services) {
				t.Errorf("services = %v, want %v", d.Services, w.services)
			}
			if d.Force {
				t.Error("force is set")
			}
		})
	}

	t.Run("seeded services", func(t *testing.T) {
		legacy := spec.Decky("legacy")
		if n := len(legacy.Services); n < 1 || n > 3 {
			t.Errorf("legacy runs %d services: %v", n, legacy.Services)
		}
		if got := iniRandomServices(iniTestSeed, "legacy", persona.Linux); !slices.Equal(got, legacy.Services) {
			t.Errorf("legacy services %v, pick gives %v", legacy.Services, got)
		}
	})

	t.Run("hostnames", func(t *testing.T) {
		if h := spec.Decky("dc01").Persona.Hostname; h != "DC01" {
			t.Errorf("dc01 hostname %q", h)
		}
		if h := spec.Decky("sql01").Persona.Hostname; h != "SQL01" {
			t.Errorf("sql01 hostname %q", h)
		}
		// Seeded hostnames follow the distro's style.
		if h := spec.Decky("ws-01").Persona.Hostname; !regexp.MustCompile(`^DESKTOP-[A-Z0-9]{7}$`).MatchString(h) {
			t.Errorf("ws-01 hostname %q", h)
		}
		if h := spec.Decky("ci").Persona.Hostname; !strings.HasSuffix(h, ".localdomain") {
			t.Errorf("ci (centos7) hostname %q", h)
		}
		if want := persona.NewIdentity(iniTestSeed, "mail").Hostname(persona.StyleGeneric); spec.Decky("mail").Persona.Hostname != want {
			t.Errorf("mail hostname %q, want %q", spec.Decky("mail").Persona.Hostname, want)
		}
	})

	t.Run("every service", func(t *testing.T) {
		seen := map[string]bool{}
		for _, d := range spec.Deckies {
			for _, s := range d.Services {
				seen[s] = true
			}
		}
		for _, slug := range service.IDs() {
			if !seen[slug] {
				t.Errorf("no decky runs %s", slug)
			}
		}
	})

	settings := []struct {
		decky, svc, key string
		want            any
	}{
		{"dc01", "rdp", "nla", false}, // the original passed "false", a truthy string
		{"dc01", "ldap", "base_dn", "DC=corp,DC=example,DC=com"},
		{"ws-01", "smb", "workgroup", "CORP"},
		{"ws-10", "smb", "shares", []any{"Users", "Public", "Scans"}},
		{"sql01", "mssql", "version", "15.0.2000.5"},
		{"web01", "http", "response_code", int64(302)},
		{"web01", "http", "fake_app", "wordpress"},
		{"web01", "http", "extra_headers", map[string]any{"X-Powered-By": "PHP/8.1.2"}},
		{"web01", "http", "http_versions", []any{"http/1.1", "http/2"}},
		{"web01", "ftp", "anonymous", false},
		{"web01", "ftp", "users", []any{"deploy:Deploy2023!", "backup:backup"}},
		{"mail", "smtp", "open_relay", false},
		{"mail", "smtp", "mta", "Postfix"},
		{"relay", "smtp_relay", "upstream_port", int64(2525)},
		{"relay", "dns", "real_recursive", false},
		{"relay", "dns", "extra_records", []any{"intranet A 192.168.50.30", "vpn CNAME intranet"}},
		{"devops", "docker_api", "version", "20.10.24"},
		{"devops", "ssh", "accept_after", int64(3)},
		{"devops", "ssh", "motd", "Welcome to the build host.\nAuthorised use only."},
		{"plc", "ics", "template", "schneider_m221"},
		{"plc", "mqtt", "accept_all", true},
		{"plc", "mqtt", "custom_topics", map[string]any{"plant/pump1/state": "on", "plant/pump1/rpm": int64(1450)}},
		{"cam", "vnc", "version", "3.3"},
		{"mon", "snmp", "communities", []any{"public", "private"}},
	}
	for _, s := range settings {
		t.Run("setting/"+s.decky+"/"+s.svc+"/"+s.key, func(t *testing.T) {
			got, ok := spec.Decky(s.decky).ServiceConfig[s.svc][s.key]
			if !ok {
				t.Fatalf("not set; config %v", spec.Decky(s.decky).ServiceConfig)
			}
			if !equalINIValue(got, s.want) {
				t.Errorf("= %#v, want %#v", got, s.want)
			}
		})
	}
	t.Run("pool members do not share values", func(t *testing.T) {
		a := spec.Decky("ws-01").ServiceConfig["smb"]["shares"].([]any)
		b := spec.Decky("ws-02").ServiceConfig["smb"]["shares"].([]any)
		a[0] = "changed"
		if b[0] != "Users" {
			t.Error("ws-01 and ws-02 share their shares list")
		}
	})
	t.Run("no settings where none given", func(t *testing.T) {
		for _, name := range []string{"files", "ci", "legacy", "voip"} {
			cfg := spec.Decky(name).ServiceConfig
			if name == "voip" {
				if len(cfg) != 1 {
					t.Errorf("voip config %v", cfg)
				}
				continue
			}
			if cfg != nil {
				t.Errorf("%s config %v", name, cfg)
			}
		}
	})
}

func equalINIValue(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, equalINIValue)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !equalINIValue(v, y[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestImportINIErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // in testdata/ini
		data string // when file is ""
		line int
		code Code
		msg  string
		n    int    // number of problems; 0 means 1
		topo string // topology name option
	}{
		{name: "bad CIDR", file: "bad_cidr.ini", line: 2, code: SubnetMalformed, msg: `net = "192.168.1.0/33" is not an IPv4 network in CIDR form`},
		{name: "host bits", data: "[general]\nnet = 10.1.2.3/24\n[a]\nservices = ssh\n", line: 2, code: SubnetMalformed, msg: "has host bits set; the network is 10.1.2.0/24"},
		{name: "amount with ip", file: "amount_with_ip.ini", line: 6, msg: "ip cannot be combined with amount = 3"},
		{name: "amount 0", file: "amount_zero.ini", line: 3, msg: "amount = 0 is outside 1..100"},
		{name: "amount 101", file: "amount_101.ini", line: 2, msg: "amount = 101 is outside 1..100"},
		{name: "amount not a number", data: "[a]\namount = many\n", line: 2, msg: `amount = "many" is not an integer`},
		{name: "hostname in pool", data: "[a]\namount = 2\nhostname = x\nservices = ssh\n", line: 3, msg: "hostname cannot be combined with amount = 2"},
		{name: "unknown service", file: "unknown_service.ini", line: 3, code: UnknownService, msg: `service "gopher" is unknown`},
		{name: "unknown key in decky section", file: "unknown_decky_key.ini", line: 3, msg: `unknown key "port" in decky section [web] (valid keys: ip, services,`},
		{name: "unknown key in general", data: "[general]\nsubnet = 10.0.0.0/24\n[a]\n", line: 2, msg: `unknown key "subnet" in section [general]`},
		{name: "unknown key in service section", file: "unknown_service_key.ini", line: 6, code: ServiceCfgUnknownKey, msg: `service http has no setting "server_colour" (it has: server_header, response_code,`},
		{name: "typo in service section name", data: "[web]\nservices = http\n[web.htp]\nserver_header = x\n", line: 4, msg: `"htp" is not a known service, so [web.htp] is read as a decky`},
		{name: "bad service value", file: "bad_value.ini", line: 5, code: ServiceCfgInvalid, msg: `service rdp: nla: "maybe" is not a boolean`},
		{name: "int out of range", data: "[w]\nservices = http\n[w.http]\nresponse_code = 999\n", line: 4, code: ServiceCfgInvalid, msg: "response_code: 999 is outside [100, 599]"},
		{name: "bad enum", data: "[w]\nservices = vnc\n[w.vnc]\nversion = 4.0\n", line: 4, code: ServiceCfgInvalid, msg: `"4.0" is not one of 3.3, 3.7, 3.8`},
		{name: "bad JSON", data: "[w]\nservices = http\n[w.http]\nextra_headers = {x}\n", line: 4, code: ServiceCfgInvalid, msg: "extra_headers: not valid JSON"},
		{name: "file over 512 KiB", data: "[a]\nservices = ssh\n# " + strings.Repeat("x", MaxINISize), line: 0, msg: "larger than 524288 bytes"},
		{name: "no sections", file: "no_sections.ini", line: 0, msg: "no sections"},
		{name: "empty file", data: "", line: 0, msg: "no sections"},
		{name: "no decky", file: "no_decky.ini", line: 0, msg: "the file defines no decky"},
		{name: "duplicate section", file: "dup_section.ini", line: 5, msg: "duplicate section [web] (first defined on line 1)"},
		{name: "duplicate key", file: "dup_key.ini", line: 4, msg: `duplicate key "services" in section [web] (first set on line 2)`},
		{name: "duplicate key through alias", data: "[a]\nservices = ssh\nnmap_os = linux\nnmap-os = bsd\n", line: 4, msg: `key "nmap-os" repeats "nmap_os" of line 3`},
		{name: "text before first section", file: "text_before_section.ini", line: 1, msg: "text before the first [section] header"},
		{name: "DEFAULT section", file: "default_section.ini", line: 1, msg: "[DEFAULT] sections are not supported"},
		{name: "malformed header", data: "[a]\nservices = ssh\n[b\n", line: 3, msg: "malformed section header"},
		{name: "line without delimiter", data: "[a]\nservices ssh\n", line: 2, msg: `expected "key = value"`},
		{name: "empty key", data: "[a]\n= ssh\n", line: 2, msg: "missing key"},
		{name: "invalid UTF-8", data: "[a]\nservices = ssh\nhostname = \xff\n", line: 3, msg: "not valid UTF-8"},
		{name: "control character", data: "[a]\nservices = ssh\nhostname = a\x01b\n", line: 3, msg: "control character U+0001"},
		{name: "service not run", file: "service_not_run.ini", line: 4, code: ServiceCfgUndeclared, msg: "[web.ssh] sets service ssh, which decky web does not run (it runs: http, ftp)"},
		{name: "service section without decky", file: "missing_decky.ini", line: 1, code: ServiceCfgUndeclared, msg: "the file has no [web] section"},
		{name: "service section of a pool member", file: "pool_member_section.ini", line: 5, code: ServiceCfgUndeclared, msg: "settings apply to the whole pool: [ws.smb]"},
		{name: "service section twice through alias", data: "[p]\nservices = ics\n[p.ics]\nvendor = a\n[p.conpot]\nvendor = b\n", line: 5, msg: "[p.conpot] repeats the settings of [p.ics] on line 3"},
		{name: "unknown nmap_os", file: "bad_nmap_os.ini", line: 3, code: PersonaOSUnknown, msg: `nmap_os = "solaris" is not one of bsd, cisco, embedded, linux, windows, windows_server`},
		{name: "unknown archetype", data: "[a]\narchetype = toaster\n", line: 2, code: PersonaArchetype, msg: `archetype "toaster" is unknown`},
		{name: "bad decky name", data: "[my box]\nservices = ssh\n", line: 1, code: NameInvalid, msg: "a decky name must be"},
		{name: "pool member name too long", data: "[" + strings.Repeat("a", 62) + "]\namount = 2\nservices = ssh\n", line: 1, code: NameInvalid, msg: "longer than 63 characters"},
		{name: "decky made twice", data: "[web]\namount = 2\nservices = ssh\n[web-02]\nservices = http\n", line: 4, code: DeckyNameDup, msg: "decky web-02 is also made by section [web] on line 1"},
		{name: "bad force", data: "[a]\nservices = ssh\nforce = maybe\n", line: 3, msg: `force: "maybe" is not a boolean`},
		{name: "ipvlan without interface", data: "[general]\nipvlan = true\n[a]\nservices = ssh\n", line: 2, msg: "ipvlan = true needs the host interface"},
		{name: "bad interface", data: "[general]\ninterface = eth0/1\n[a]\nservices = ssh\n", line: 2, msg: `interface = "eth0/1" is not a network interface name`},
		{name: "custom without image", data: "[custom-x]\nports = 80\n[a]\nservices = x\n", line: 1, code: CustomInvalid, msg: "custom service x needs its image"},
		{name: "custom bad port", file: "bad_custom_port.ini", line: 3, code: CustomInvalid, msg: `port "99999" is not a number between 1 and 65535`},
		{name: "custom unknown key", data: "[custom-x]\nbinary = x:1\nenv = A=1\n[a]\nservices = x\n", line: 3, msg: `unknown key "env" in custom service section [custom-x]`},
		{name: "custom named like a built-in", data: "[custom-ssh]\nbinary = x:1\n[a]\nservices = ssh\n", line: 1, code: CustomInvalid, msg: `custom service "ssh" has the name of a built-in service`},
		// Validation issues, mapped back to their lines.
		{name: "port clash", file: "port_clash.ini", line: 6, code: PortClash, msg: "services smtp and smtp_relay both bind 25/tcp (decky mail service smtp_relay)", n: 2},
		{name: "nmap_os contradicts distro", file: "distro_os.ini", line: 1, code: PersonaDistroOS, msg: "distro debian is a linux system but the persona OS is windows (decky box)"},
		{name: "unknown distro", data: "[a]\nservices = ssh\ndistro = beos\n", line: 3, code: PersonaDistroUnknown, msg: `distro "beos" is unknown`},
		{name: "ip outside the net", file: "ip_out_of_subnet.ini", line: 6, code: IPOutOfSubnet, msg: "address 10.10.0.5 is outside LAN lan (10.9.0.0/24)"},
		{name: "ip is the gateway", data: "[general]\nnet = 10.9.0.0/24\n[a]\nservices = ssh\nip = 10.9.0.1\n", line: 5, code: IPReserved, msg: "is the gateway of LAN lan"},
		{name: "ip collision", data: "[a]\nservices = ssh\nip = 10.200.0.7\n[b]\nservices = ssh\nip = 10.200.0.7\n", line: 6, code: IPCollision, msg: "also held by decky a"},
		{name: "gateway outside the net", data: "[general]\nnet = 10.9.0.0/24\ngw = 10.8.0.1\n[a]\nservices = ssh\n", line: 3, code: GatewayOutOfSubnet, msg: "gateway 10.8.0.1 is outside subnet 10.9.0.0/24"},
		{name: "bad hostname", data: "[a]\nservices = ssh\nhostname = -bad-\n", line: 3, code: NameInvalid, msg: `hostname "-bad-" is not a valid host name`},
		{name: "duplicate service", data: "[a]\nservices = ics, conpot\n", line: 2, code: ServiceDup, msg: "service ics is listed twice"},
		{name: "mssql on linux", file: "mssql_linux.ini", line: 2, code: PersonaServiceOS, msg: "mssql only runs on Windows, and the persona is linux"},
		{name: "pool exhausts the net", data: "[general]\nnet = 10.9.0.0/29\n[p]\namount = 10\nservices = ssh\n", line: 2, msg: "no free address left in 10.9.0.0/29"},
		{name: "every problem at once", file: "many_errors.ini", line: 3, msg: `unknown key "colour"`, n: 4},
		{name: "bad topology name", data: "[a]\nservices = ssh\n", topo: "bad name", line: 0, code: NameInvalid, msg: `topology name "bad name"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				spec *Spec
				err  error
			)
			if tc.file != "" {
				spec, _, err = importINIFile(t, tc.file)
			} else {
				spec, _, err = ImportINI(strings.NewReader(tc.data), INIOptions{Seed: iniTestSeed, Name: tc.topo})
			}
			if err == nil {
				t.Fatal("no error")
			}
			if spec != nil {
				t.Error("a spec is returned with the error")
			}
			if !errors.Is(err, ErrDecode) {
				t.Errorf("error does not match ErrDecode: %v", err)
			}
			if tc.code != "" && !errors.Is(err, ErrInvalid) {
				t.Errorf("error with a code does not match ErrInvalid: %v", err)
			}
			errs := iniErrors(t, err)
			if n := max(tc.n, 1); len(errs) != n {
				t.Errorf("%d problems, want %d: %v", len(errs), n, err)
			}
			first := errs[0]
			if first.Line != tc.line || first.Code != tc.code || !strings.Contains(first.Msg, tc.msg) {
				t.Errorf("got line %d code %q msg %q\nwant line %d code %q msg containing %q", first.Line, first.Code, first.Msg, tc.line, tc.code, tc.msg)
			}
			prefix := ""
			if tc.line > 0 {
				prefix = "line " + strconv.Itoa(tc.line) + ": "
			}
			if tc.code != "" {
				prefix += string(tc.code) + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
		})
	}
}

func TestImportINIManyErrors(t *testing.T) {
	_, _, err := importINIFile(t, "many_errors.ini")
	errs := iniErrors(t, err)
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
	}
	if want := []int{3, 6, 9, 12}; !slices.Equal(lines, want) {
		t.Errorf("lines %v, want %v: %v", lines, want, err)
	}
	if n := strings.Count(err.Error(), "\n"); n != 3 {
		t.Errorf("the error is not one line per problem: %q", err)
	}
}

func TestImportINIWarnings(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		codes []Code
		msgs  []string // each warning's message, in order, as a prefix
	}{
		{"mssql on linux with force", "mssql_linux_force.ini", []Code{PersonaServiceOS},
			[]string{"line 2: mssql only runs on Windows, and the persona is linux: scanners flag the mix (accepted: force is set)"}},
		{"ignored keys", "ignored_keys.ini", []Code{INIKeyIgnored, INIKeyIgnored, INIKeyIgnored},
			[]string{"line 2: log_target is ignored", "line 3: mutate_interval is ignored", "line 7: mutate_interval is ignored"}},
		{"banner names another OS", "banner_os.ini", []Code{PersonaBannerOS},
			[]string{`line 5: "Microsoft-IIS/10.0" names microsoft, but the persona is linux`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, warnings, err := importINIFile(t, tc.file)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if spec == nil {
				t.Fatal("no spec")
			}
			var codes []Code
			for _, w := range warnings {
				codes = append(codes, w.Code)
				if w.Severity != Warning {
					t.Errorf("%v is not a warning", w)
				}
			}
			if !slices.Equal(codes, tc.codes) {
				t.Fatalf("warnings %v, want codes %v", warnings, tc.codes)
			}
			for i, w := range warnings {
				if !strings.HasPrefix(w.Message, tc.msgs[i]) {
					t.Errorf("warning %d: %q, want prefix %q", i, w.Message, tc.msgs[i])
				}
			}
		})
	}
	t.Run("force is kept", func(t *testing.T) {
		spec, _, err := importINIFile(t, "mssql_linux_force.ini")
		if err != nil {
			t.Fatal(err)
		}
		if d := spec.Decky("box"); !d.Force || !slices.Equal(d.Services, []string{"ssh", "mssql"}) {
			t.Errorf("box = %+v", d)
		}
	})
}

func TestImportININetworks(t *testing.T) {
	tests := []struct {
		name string
		data string
		lan  LAN
		ips  []string
	}{
		{"no general section", "[a]\nservices = ssh\n[b]\nservices = ssh\n",
			LAN{Name: "lan", Subnet: "10.200.0.0/24", Gateway: "10.200.0.1", Driver: Bridge, DMZ: true},
			[]string{"10.200.0.2", "10.200.0.3"}},
		{"net only", "[general]\nnet = 172.16.4.0/24\n[a]\nservices = ssh\n",
			LAN{Name: "lan", Subnet: "172.16.4.0/24", Gateway: "172.16.4.1", Driver: Bridge, DMZ: true},
			[]string{"172.16.4.2"}},
		{"gateway elsewhere", "[general]\nnet = 172.16.4.0/24\ngw = 172.16.4.254\n[a]\nservices = ssh\n[b]\nservices = ssh\nip = 172.16.4.2\n",
			LAN{Name: "lan", Subnet: "172.16.4.0/24", Gateway: "172.16.4.254", Driver: Bridge, DMZ: true},
			[]string{"172.16.4.1", "172.16.4.2"}}, // .1 is free: the gateway is .254
		{"macvlan", "[general]\ninterface = eth1\nipvlan = no\n[a]\nservices = ssh\n",
			LAN{Name: "lan", Subnet: "10.200.0.0/24", Gateway: "10.200.0.1", Driver: Macvlan, Parent: "eth1", DMZ: true},
			[]string{"10.200.0.2"}},
		{"ipvlan", "[general]\nnet = 172.30.8.0/24\ninterface = enp3s0\nipvlan = yes\n[a]\nservices = ssh\n",
			LAN{Name: "lan", Subnet: "172.30.8.0/24", Gateway: "172.30.8.1", Driver: IPvlan, Parent: "enp3s0", DMZ: true},
			[]string{"172.30.8.2"}},
		{"empty values mean unset", "[general]\nnet =\n[a]\nservices = ssh\nip =\nhostname =\n",
			LAN{Name: "lan", Subnet: "10.200.0.0/24", Gateway: "10.200.0.1", Driver: Bridge, DMZ: true},
			[]string{"10.200.0.2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, _, err := ImportINI(strings.NewReader(tc.data), INIOptions{Seed: iniTestSeed})
			if err != nil {
				t.Fatal(err)
			}
			if len(spec.LANs) != 1 || spec.LANs[0] != tc.lan {
				t.Errorf("LANs %+v, want %+v", spec.LANs, tc.lan)
			}
			var ips []string
			for _, d := range spec.Deckies {
				ips = append(ips, d.Addresses[0].IP)
			}
			if !slices.Equal(ips, tc.ips) {
				t.Errorf("IPs %v, want %v", ips, tc.ips)
			}
		})
	}
}

func TestImportINIPools(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		names []string
	}{
		{"amount 1 keeps the name", "[web]\namount = 1\nservices = http\n", []string{"web"}},
		{"amount 3", "[web]\namount = 3\nservices = http\n", []string{"web-01", "web-02", "web-03"}},
		{"pools in file order", "[b]\namount = 2\nservices = ssh\n[a]\nservices = ssh\n", []string{"b-01", "b-02", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, _, err := ImportINI(strings.NewReader(tc.data), INIOptions{Seed: iniTestSeed})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range spec.Deckies {
				names = append(names, d.Name)
			}
			if !slices.Equal(names, tc.names) {
				t.Errorf("deckies %v, want %v", names, tc.names)
			}
		})
	}
	t.Run("amount 100 pads to three digits", func(t *testing.T) {
		spec, _, err := importINIFile(t, "big_pool.ini")
		if err != nil {
			t.Fatal(err)
		}
		if n := len(spec.Deckies); n != 100 {
			t.Fatalf("%d deckies", n)
		}
		if a, z := spec.Deckies[0].Name, spec.Deckies[99].Name; a != "farm-001" || z != "farm-100" {
			t.Errorf("names %s .. %s", a, z)
		}
		// Distros cycle through the family's by position.
		linux := persona.DistrosOf(persona.Linux)
		for i, d := range spec.Deckies {
			if want := linux[i%len(linux)]; d.Persona.Distro != want {
				t.Errorf("%s distro %s, want %s", d.Name, d.Persona.Distro, want)
			}
		}
	})
	t.Run("too many deckies", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("[general]\nnet = 10.0.0.0/8\n")
		for i := range maxINIDeckies/100 + 1 {
			b.WriteString("[p" + strconv.Itoa(i) + "]\namount = 100\nservices = ssh\n")
		}
		_, _, err := ImportINI(strings.NewReader(b.String()), INIOptions{Seed: iniTestSeed})
		if err == nil || !strings.Contains(err.Error(), "more than 4096 deckies") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestImportINIPersona(t *testing.T) {
	tests := []struct {
		name                      string
		data                      string
		os, distro, archetype     string
		services                  []string
		servicesNotChosenFromSeed bool
	}{
		{"nmap_os over archetype", "[a]\narchetype = windows-server\nnmap_os = windows\n",
			"windows", "win10", "windows-server", []string{"smb", "rdp", "ldap"}, true},
		{"nmap_os case folds", "[a]\nnmap_os = BSD\nservices = ssh\n", "bsd", "freebsd13", "", []string{"ssh"}, true},
		{"explicit distro", "[a]\narchetype = linux-server\ndistro = kali\n", "linux", "kali", "linux-server", []string{"ssh", "http"}, true},
		{"archetype distro by position", "[x]\nservices = ssh\n[a]\narchetype = linux-server\n", "linux", "ubuntu22", "linux-server", []string{"ssh", "http"}, true},
		{"service aliases", "[a]\nservices = Conpot, docker-api\n", "linux", "debian", "", []string{"ics", "docker_api"}, true},
		{"windows decky with seeded services", "[a]\nnmap_os = windows\n", "windows", "win10", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, _, err := ImportINI(strings.NewReader(tc.data), INIOptions{Seed: iniTestSeed})
			if err != nil {
				t.Fatal(err)
			}
			d := spec.Deckies[len(spec.Deckies)-1]
			if d.Persona.OS != tc.os || d.Persona.Distro != tc.distro || d.Persona.Archetype != tc.archetype {
				t.Errorf("persona %+v, want %s %s %q", d.Persona, tc.os, tc.distro, tc.archetype)
			}
			want := tc.services
			if !tc.servicesNotChosenFromSeed {
				want = iniRandomServices(iniTestSeed, d.Name, persona.Family(tc.os))
			}
			if !slices.Equal(d.Services, want) {
				t.Errorf("services %v, want %v", d.Services, want)
			}
		})
	}
}

func TestINIRandomServices(t *testing.T) {
	for _, fam := range []persona.Family{persona.Linux, persona.Windows, persona.Embedded} {
		t.Run(string(fam), func(t *testing.T) {
			windowsOnly := false
			for i := range 300 {
				name := "d" + strconv.Itoa(i)
				got := iniRandomServices(iniTestSeed, name, fam)
				if n := len(got); n < 1 || n > 3 {
					t.Fatalf("%s: %d services %v", name, n, got)
				}
				if again := iniRandomServices(iniTestSeed, name, fam); !slices.Equal(got, again) {
					t.Fatalf("%s: %v then %v", name, got, again)
				}
				ports := map[service.Port]string{}
				for _, slug := range got {
					info, ok := service.Lookup(slug)
					if !ok {
						t.Fatalf("%s: unknown service %s", name, slug)
					}
					if info.WindowsOnly {
						windowsOnly = true
						if !fam.IsWindows() {
							t.Errorf("%s: Windows-only %s on %s", name, slug, fam)
						}
					}
					for _, p := range info.Ports {
						if other, clash := ports[p]; clash {
							t.Errorf("%s: %s and %s both bind %s", name, other, slug, p)
						}
						ports[p] = slug
					}
				}
			}
			if fam.IsWindows() && !windowsOnly {
				t.Error("Windows personas never get a Windows-only service")
			}
		})
	}
}

func TestINIParse(t *testing.T) {
	type kv struct{ sec, key, value string }
	tests := []struct {
		name string
		data string
		want []kv
	}{
		{"both delimiters", "[a]\nx = 1\ny: 2\nz=3=4\nw:5=6\n", []kv{{"a", "x", "1"}, {"a", "y", "2"}, {"a", "z", "3=4"}, {"a", "w", "5=6"}}},
		{"keys lowercased, values trimmed", "[A]\n  KeY   =   Some Value  \n", []kv{{"A", "key", "Some Value"}}},
		{"comments", "# c\n; c\n[a]\n  # indented comment\nx = 1 # not a comment\n", []kv{{"a", "x", "1 # not a comment"}}},
		{"continuation", "[a]\nx = one\n  two\n\n\tthree\ny = 2\n", []kv{{"a", "x", "one\ntwo\n\nthree"}, {"a", "y", "2"}}},
		{"comment inside a continuation", "[a]\nx = one\n  # skipped\n  two\n", []kv{{"a", "x", "one\ntwo"}}},
		{"trailing empty lines dropped", "[a]\nx = one\n\n\n[b]\n", []kv{{"a", "x", "one"}}},
		{"indented keys after a header", "[a]\n  x = 1\n  y = 2\n", []kv{{"a", "x", "1"}, {"a", "y", "2"}}},
		{"empty value", "[a]\nx =\n", []kv{{"a", "x", ""}}},
		{"CRLF and BOM", "\ufeff[a]\r\nx = 1\r\n", []kv{{"a", "x", "1"}}},
		{"header spaces", "[ a ]\nx = 1\n", []kv{{"a", "x", "1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secs, err := parseINI([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []kv
			for _, s := range secs {
				for _, k := range s.keys {
					got = append(got, kv{s.name, k.name, k.value})
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestImportINIOptions(t *testing.T) {
	const file = "[web]\nservices = ssh, http\n"
	imp := func(opts INIOptions) *Spec {
		t.Helper()
		spec, _, err := ImportINI(strings.NewReader(file), opts)
		if err != nil {
			t.Fatal(err)
		}
		return spec
	}
	t.Run("name and host", func(t *testing.T) {
		spec := imp(INIOptions{Name: "branch", Host: "sensor-3", Seed: "s"})
		if spec.Name != "branch" || spec.Host != "sensor-3" || spec.Seed != "s" {
			t.Errorf("name %q host %q seed %q", spec.Name, spec.Host, spec.Seed)
		}
		if spec := imp(INIOptions{Seed: "s"}); spec.Name != "ini" || spec.Host != "" {
			t.Errorf("default name %q host %q", spec.Name, spec.Host)
		}
	})
	t.Run("same seed, same hash", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("testdata", "ini", "full.ini"))
		if err != nil {
			t.Fatal(err)
		}
		hash := func(seed string) string {
			spec, _, err := ImportINI(bytes.NewReader(data), INIOptions{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			return spec.Hash()
		}
		a, b, c := hash("seed-a"), hash("seed-a"), hash("seed-b")
		if a != b {
			t.Errorf("same seed: %s != %s", a, b)
		}
		if a == c {
			t.Errorf("different seeds give the same hash %s", a)
		}
	})
	t.Run("random seed", func(t *testing.T) {
		a, b := imp(INIOptions{}), imp(INIOptions{})
		hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
		if !hex32.MatchString(a.Seed) || !hex32.MatchString(b.Seed) {
			t.Errorf("seeds %q %q", a.Seed, b.Seed)
		}
		if a.Seed == b.Seed || a.Hash() == b.Hash() {
			t.Errorf("two imports share seed %q", a.Seed)
		}
	})
}

func TestImportINIRoundTrip(t *testing.T) {
	spec, _, err := importINIFile(t, "full.ini")
	if err != nil {
		t.Fatal(err)
	}
	checkINIRoundTrip(t, spec)
}

// checkINIRoundTrip asserts that the spec stores and reloads as YAML and as
// JSON with its hash unchanged.
func checkINIRoundTrip(t *testing.T, spec *Spec) {
	t.Helper()
	for _, enc := range []struct {
		name string
		fn   func() ([]byte, error)
	}{{"yaml", spec.YAML}, {"json", spec.JSON}} {
		data, err := enc.fn()
		if err != nil {
			t.Fatalf("%s: %v", enc.name, err)
		}
		back, err := DecodeBytes(data)
		if err != nil {
			t.Fatalf("%s: decode: %v\n%s", enc.name, err, data)
		}
		if back.Hash() != spec.Hash() {
			t.Fatalf("%s: hash changed\n%s\n%s", enc.name, spec.Canonical(), back.Canonical())
		}
	}
}

func FuzzImportINI(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "ini", "*.ini"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, _, err := ImportINI(bytes.NewReader(data), INIOptions{Seed: "fuzz"})
		if err != nil {
			if spec != nil {
				t.Fatal("a spec is returned with an error")
			}
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("error does not match ErrDecode: %v", err)
			}
			return
		}
		if err := Validate(spec, Options{}).Err(); err != nil {
			t.Fatalf("imported spec is invalid: %v", err)
		}
		checkINIRoundTrip(t, spec)
	})
}

func TestImportINILimits(t *testing.T) {
	customs := func(n, width int) (string, []string) {
		var b strings.Builder
		var names []string
		for i := range n {
			name := fmt.Sprintf("c%0*d", width-1, i)
			names = append(names, name)
			fmt.Fprintf(&b, "[custom-%s]\nbinary = x:1\n", name)
		}
		return b.String(), names
	}
	tests := []struct {
		name string
		data func() string
		line int
		msg  string
	}{
		{"too many services", func() string {
			c, names := customs(maxINIServices+1, 8)
			return c + "[a]\nservices = " + strings.Join(names, ", ") + "\n"
		}, 2*(maxINIServices+1) + 2, "a decky runs at most 64 services"},
		{"too many custom services", func() string {
			c, _ := customs(maxINICustom+1, 8)
			return c + "[a]\nservices = ssh\n"
		}, 2*maxINICustom + 1, "more than 256 custom services"},
		{"settings over all members", func() string {
			return "[p]\namount = 100\nservices = ssh\n[p.ssh]\nmotd = " + strings.Repeat("x", maxINISettingSize/100+1) + "\n"
		}, 5, "service settings add up to more than 1048576 bytes"},
		{"spec too large to store", func() string {
			c, names := customs(maxINIServices, 63)
			c = "[general]\nnet = 10.0.0.0/16\n" + c
			for i := range 10 {
				c += fmt.Sprintf("[p%d]\namount = 100\nservices = %s\n", i, strings.Join(names, ","))
			}
			return c
		}, 0, "the imported topology is larger than 4194304 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ImportINI(strings.NewReader(tc.data()), INIOptions{Seed: iniTestSeed})
			if err == nil {
				t.Fatal("no error")
			}
			errs := iniErrors(t, err)
			if len(errs) != 1 || errs[0].Line != tc.line || !strings.Contains(errs[0].Msg, tc.msg) {
				t.Errorf("got %v\nwant line %d: %s", err, tc.line, tc.msg)
			}
		})
	}
	t.Run("problems shown", func(t *testing.T) {
		var b strings.Builder
		for i := range maxINIErrors + 50 {
			fmt.Fprintf(&b, "[d%d]\nbogus = 1\n", i)
		}
		_, _, err := ImportINI(strings.NewReader(b.String()), INIOptions{Seed: iniTestSeed})
		errs := iniErrors(t, err)
		if len(errs) != maxINIErrors+1 || errs[maxINIErrors].Msg != "50 more problems not shown" {
			t.Errorf("%d problems, last %v", len(errs), errs[len(errs)-1])
		}
	})
}

func TestImportINIServiceSectionBeforeDecky(t *testing.T) {
	const file = "[web.http]\nresponse_code = 404\n\n[web]\namount = 2\narchetype = web-server\n"
	spec, _, err := ImportINI(strings.NewReader(file), INIOptions{Seed: iniTestSeed})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web-01", "web-02"} {
		if got := spec.Decky(name).ServiceConfig["http"]["response_code"]; got != int64(404) {
			t.Errorf("%s response_code = %#v", name, got)
		}
	}
}

// TestImportINIOriginalKeys imports a file written with the keys the
// original system's service images read: none is an error, each one with a
// DECNET setting lands there, and every one is reported with its line.
func TestImportINIOriginalKeys(t *testing.T) {
	spec, warnings, err := importINIFile(t, "original_keys.ini")
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	cfg := func(decky, svc string) map[string]any { return spec.Decky(decky).ServiceConfig[svc] }
	for _, c := range []struct {
		decky, svc, key string
		want            any
	}{
		{"db", "mysql", "version", "8.0.36-0ubuntu0.22.04.1"},
		{"db", "redis", "version", "7.0.15"},
		{"jump", "ssh", "banner", "OpenSSH_8.9p1 Ubuntu-3ubuntu0.13"},
		{"jump", "ssh", "kernel", "5.15.0-122-generic"},
		{"mail", "smtp", "banner", "mail.example.com ESMTP Postfix (Ubuntu)"},
		{"mail", "snmp", "communities", []any{"public", "private"}},
		{"www", "https", "tls_cn", "www.example.com"},
	} {
		if got := cfg(c.decky, c.svc)[c.key]; fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s %s.%s = %v, want %v", c.decky, c.svc, c.key, got, c.want)
		}
	}
	if got := cfg("files", "smb"); len(got) != 0 {
		t.Errorf("ignored keys were imported: %v", got)
	}
	if got := cfg("www", "http"); len(got) != 0 {
		t.Errorf("ignored keys were imported: %v", got)
	}
	want := []string{
		"INI_KEY_MAPPED line 12: mysql_version (the original system's key) is imported as mysql.version",
		"INI_KEY_MAPPED line 15: redis_version (the original system's key) is imported as redis.version",
		"INI_KEY_MAPPED line 22: ssh_version (the original system's key) is imported as ssh.banner",
		"INI_KEY_MAPPED line 23: kernel_version (the original system's key) is imported as ssh.kernel",
		"INI_KEY_MAPPED line 30: smtp_banner (the original system's key) is imported as smtp.banner",
		"INI_KEY_MAPPED line 33: snmp_community (the original system's key) is imported as snmp.communities",
		"INI_KEY_IGNORED line 39: os_version is a key of the original system that has no effect here: the OS version follows the persona's distro",
		"INI_KEY_IGNORED line 40: server_name is a key of the original system that has no effect here: the NetBIOS name is the persona's hostname",
		"INI_KEY_IGNORED line 46: server_name is a key of the original system that has no effect here: the virtual host name is the persona's hostname",
		"INI_KEY_MAPPED line 49: server_name (the original system's key) is imported as https.tls_cn",
	}
	var got []string
	for _, w := range warnings {
		got = append(got, string(w.Code)+" "+w.Message)
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A legacy key beside its new name is ambiguous: an error with the line.
	_, _, err = ImportINI(strings.NewReader("[a]\nservices = mysql\n[a.mysql]\nversion = 8.0.36\nmysql_version = 5.7.44\n"), INIOptions{Seed: iniTestSeed})
	if errs := iniErrors(t, err); len(errs) != 1 || errs[0].Line != 5 || !strings.Contains(errs[0].Msg, "which line 4 sets too") {
		t.Fatalf("legacy key beside its setting: %v", err)
	}
}
