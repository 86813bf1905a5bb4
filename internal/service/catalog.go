package service

// catalog declares every service a decky can run. Ports are the ones the
// implementation binds, with their protocol (the original declared ports it
// never opened and mixed TCP with UDP). Config keys keep the original's names
// where it had them, so its INI files import unchanged.
var catalog = map[string]Info{
	"ssh": {Slug: "ssh", Title: "OpenSSH server", Ports: tcp(22), Config: []Field{
		str("password", "Root password the accept policy takes (legacy key)", ""),
		str("user", "Extra login account", "ubuntu"),
		secret("user_password", "Password of the extra account (legacy key)"),
		list("users", "Accepted user:password pairs, e.g. root:toor"),
		intField("accept_after", "Accept any password after this many failed attempts (0: never)", 0, 0, 100),
		str("banner", "Software version in the identification string (default: the distro's OpenSSH)", ""),
		str("hostname", "Hostname shown in the shell (default: the persona's)", ""),
		text("motd", "Message of the day after login"),
	}},
	"telnet": {Slug: "telnet", Title: "Telnet login", Ports: tcp(23), Config: []Field{
		str("password", "Root password (legacy key)", ""),
		str("user", "Extra login account", ""),
		secret("user_password", "Password of the extra account (legacy key)"),
		list("users", "Accepted user:password pairs"),
		intField("accept_after", "Accept any password after this many failed attempts (0: never)", 0, 0, 100),
		str("hostname", "Hostname in the prompt (default: the persona's)", ""),
		text("banner", "Text before the login prompt"),
	}},
	"http": {Slug: "http", Title: "HTTP server", Ports: tcp(80), Config: httpFields()},
	"https": {Slug: "https", Title: "HTTPS server", Ports: tcp(443), Config: append(httpFields(),
		str("tls_cn", "Certificate common name (default: the persona's hostname)", ""),
		text("tls_cert", "PEM certificate to serve instead of a generated one"),
		secretText("tls_key", "PEM private key of tls_cert"),
	)},
	"ftp": {Slug: "ftp", Title: "FTP server", Ports: tcp(21), Config: []Field{
		str("banner", "Greeting after 220 (default: vsftpd or ProFTPD per persona)", ""),
		boolField("anonymous", "Allow anonymous login", false),
		list("users", "Accepted user:password pairs"),
	}},
	"tftp": {Slug: "tftp", Title: "TFTP server", Ports: udp(69)},
	"smb": {Slug: "smb", Title: "SMB file sharing", Ports: tcp(445, 139), Config: []Field{
		str("workgroup", "NetBIOS domain or workgroup", "WORKGROUP"),
		list("shares", "Share names offered"),
	}},
	"rdp": {Slug: "rdp", Title: "Remote Desktop", Ports: tcp(3389), WindowsOnly: true, Config: []Field{
		boolField("nla", "Require Network Level Authentication (CredSSP)", true),
	}},
	"vnc": {Slug: "vnc", Title: "VNC server", Ports: tcp(5900), Config: []Field{
		enumField("version", "RFB protocol version", "3.8", "3.3", "3.7", "3.8"),
	}},
	"smtp": {Slug: "smtp", Title: "SMTP server", Ports: tcp(25, 587), Config: smtpFields()},
	"smtp_relay": {Slug: "smtp_relay", Title: "SMTP open relay", Ports: tcp(25, 587), Config: append(smtpFields(),
		str("upstream_host", "Relay used to deliver probe messages", ""),
		intField("upstream_port", "Port of upstream_host", 587, 1, 65535),
		str("upstream_user", "Login on upstream_host", ""),
		secret("upstream_pass", "Password on upstream_host"),
		str("upstream_sender", "Envelope sender for probe messages", ""),
		intField("probe_limit", "Probe messages relayed per attacker", 1, 0, 100),
	)},
	"pop3": {Slug: "pop3", Title: "POP3 server", Ports: tcp(110), Config: mailboxFields()},
	"imap": {Slug: "imap", Title: "IMAP server", Ports: tcp(143), Config: mailboxFields()},
	"ldap": {Slug: "ldap", Title: "LDAP directory", Ports: tcp(389), Config: []Field{
		str("base_dn", "Directory base DN (default from the persona's domain)", ""),
	}},
	"llmnr": {Slug: "llmnr", Title: "LLMNR/mDNS responder watch", Ports: udp(5355, 5353), Config: []Field{
		list("bait_names", "Names queried to catch poisoners"),
	}},
	"mysql": {Slug: "mysql", Title: "MySQL server", Ports: tcp(3306), Config: []Field{
		str("version", "Server version (default: one fitting the distro)", ""),
	}},
	"postgres": {Slug: "postgres", Title: "PostgreSQL server", Ports: tcp(5432), Config: []Field{
		str("version", "Server version", ""),
		list("databases", "Database names that exist"),
	}},
	"mssql": {Slug: "mssql", Title: "Microsoft SQL Server", Ports: tcp(1433), WindowsOnly: true, Config: []Field{
		str("version", "Product version, e.g. 15.0.2000.5", ""),
	}},
	"mongodb": {Slug: "mongodb", Title: "MongoDB server", Ports: tcp(27017), Config: []Field{
		str("version", "Server version", ""),
		str("repl_set", "Replica set name", ""),
	}},
	"redis": {Slug: "redis", Title: "Redis server", Ports: tcp(6379), Config: []Field{
		str("version", "Server version (default: one fitting the distro)", ""),
		secret("password", "requirepass; empty means no AUTH needed"),
	}},
	"elasticsearch": {Slug: "elasticsearch", Title: "Elasticsearch node", Ports: tcp(9200), Config: []Field{
		str("version", "Elasticsearch version", ""),
		str("cluster_name", "Cluster name", ""),
	}},
	"mqtt": {Slug: "mqtt", Title: "MQTT broker", Ports: tcp(1883), Config: []Field{
		boolField("accept_all", "Accept every CONNECT", false),
		list("creds", "Accepted user:password pairs"),
		enumField("persona", "Topic set served", "water_plant", "water_plant", "building_hvac", "solar_farm", "factory_line"),
		object("custom_topics", "Extra retained topics as {topic: payload}"),
	}},
	"snmp": {Slug: "snmp", Title: "SNMP agent", Ports: udp(161), Config: []Field{
		list("communities", "Accepted community strings"),
		str("sys_descr", "sysDescr (default from the persona)", ""),
		str("sys_location", "sysLocation", ""),
		str("sys_contact", "sysContact", ""),
	}},
	"sip": {Slug: "sip", Title: "SIP registrar", Ports: []Port{{5060, UDP}, {5060, TCP}}, Config: []Field{
		str("user_agent", "Server header", ""),
		str("realm", "Digest realm (default: the persona's domain)", ""),
	}},
	"k8s": {Slug: "k8s", Title: "Kubernetes API server", Ports: tcp(6443), Config: []Field{
		str("version", "Kubernetes version", "v1.27.4"),
	}},
	"docker_api": {Slug: "docker_api", Title: "Docker Engine API", Ports: tcp(2375), Aliases: []string{"docker-api"}, Config: []Field{
		str("version", "Engine version", "24.0.5"),
	}},
	"dns": {Slug: "dns", Title: "DNS server", Ports: []Port{{53, UDP}, {53, TCP}}, Config: []Field{
		enumField("zone_mode", "auth answers its zone only; recursive and open sinkhole other names", "auth", "auth", "recursive", "open"),
		str("domain", "Zone served (default: seeded)", ""),
		str("bind_version", "version.bind answer", "9.18.28-0ubuntu0.22.04.1-Ubuntu"),
		str("nsid", "NSID answer", ""),
		list("extra_records", "Extra records as 'name TYPE value'"),
		boolField("real_recursive", "Forward out-of-zone queries upstream", false),
		str("upstream", "Upstream resolver for real_recursive", ""),
		intField("forward_budget", "Forwarded queries per window", 50, 0, 10000),
	}},
	"ics": {Slug: "ics", Title: "Industrial controller (Modbus/TCP, S7comm)", Ports: tcp(502, 102), Aliases: []string{"conpot"}, Config: []Field{
		enumField("template", "Device persona", "siemens_s7_1200", "siemens_s7_1200", "schneider_m221", "generic_modbus"),
		str("vendor", "Vendor name reported", ""),
		str("product", "Product name reported", ""),
	}},
}

func tcp(ports ...uint16) []Port { return ports_(TCP, ports) }
func udp(ports ...uint16) []Port { return ports_(UDP, ports) }

func ports_(p Proto, ports []uint16) []Port {
	out := make([]Port, len(ports))
	for i, n := range ports {
		out[i] = Port{n, p}
	}
	return out
}

func str(key, help, def string) Field {
	f := Field{Key: key, Type: String, Help: help}
	if def != "" {
		f.Default = def
	}
	return f
}
func secret(key, help string) Field { return Field{Key: key, Type: Secret, Help: help} }
func secretText(key, help string) Field {
	return Field{Key: key, Type: Secret, Help: help, Multiline: true}
}
func text(key, help string) Field   { return Field{Key: key, Type: Text, Help: help} }
func list(key, help string) Field   { return Field{Key: key, Type: List, Help: help} }
func object(key, help string) Field { return Field{Key: key, Type: Object, Help: help} }
func boolField(key, help string, def bool) Field {
	return Field{Key: key, Type: Bool, Help: help, Default: def}
}
func intField(key, help string, def, lo, hi int) Field {
	return Field{Key: key, Type: Int, Help: help, Default: int64(def), Min: &lo, Max: &hi}
}
func enumField(key, help, def string, values ...string) Field {
	return Field{Key: key, Type: Enum, Help: help, Default: def, Enum: values}
}

func httpFields() []Field {
	return []Field{
		str("server_header", "Server header (default: the persona's web server)", ""),
		intField("response_code", "Status of the default page", 200, 100, 599),
		enumField("fake_app", "Application served", "none", "none", "wordpress", "phpmyadmin", "admin_panel", "tomcat", "jenkins"),
		{Key: "extra_headers", Type: Map, Help: "Headers added to every response"},
		text("custom_body", "Body of the default page (b64: prefix for binary)"),
		{Key: "http_versions", Type: MultiEnum, Help: "Protocol versions offered", Enum: []string{"http/1.0", "http/1.1", "http/2"}},
		str("files", "Host directory served read-only", ""),
	}
}

func smtpFields() []Field {
	return []Field{
		str("banner", "Greeting text after '220 ' (default: Postfix on the persona's hostname)", ""),
		str("mta", "MTA name in the greeting", ""),
		boolField("open_relay", "Accept relaying", false),
	}
}

func mailboxFields() []Field {
	return []Field{
		list("users", "Accepted user:password pairs"),
		str("email_seed", "Host directory of bait messages (.eml or JSON)", ""),
	}
}
