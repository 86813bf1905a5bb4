package persona

import "sort"

// Archetype is a role a decky plays on a network (a mail server, a printer,
// a domain controller): a default service set, the distributions that fit
// the role and the OS family they share.
type Archetype struct {
	Slug             string   `json:"slug"`
	Description      string   `json:"description"`
	Services         []string `json:"services"`
	PreferredDistros []string `json:"preferred_distros"`
	Family           Family   `json:"os_family"`
}

// archetypes keeps the original system's fifteen slugs and service sets. Two
// deliberate differences: Windows roles run Windows distributions (the
// original put them on Debian and Ubuntu, so every layer but the TTL said
// Linux), and industrial-control uses the ICS service, which has ports of
// its own instead of clashing with SNMP on 161/udp.
var archetypes = []Archetype{
	{"windows-workstation", "Windows desktop on an office LAN", []string{"smb", "rdp"}, []string{"win10", "win11"}, Windows},
	{"windows-server", "Windows member server", []string{"smb", "rdp", "ldap"}, []string{"win2019", "win2022", "win2016"}, WindowsServer},
	{"domain-controller", "Active Directory domain controller", []string{"ldap", "smb", "rdp", "llmnr"}, []string{"win2019", "win2022"}, WindowsServer},
	{"linux-server", "General purpose Linux server", []string{"ssh", "http"}, []string{"debian", "ubuntu22", "rocky9", "fedora"}, Linux},
	{"web-server", "Public web server", []string{"http", "ftp"}, []string{"debian", "ubuntu22", "ubuntu20"}, Linux},
	{"database-server", "Database host", []string{"mysql", "postgres", "redis"}, []string{"debian", "ubuntu22"}, Linux},
	{"mail-server", "Mail server", []string{"smtp", "pop3", "imap"}, []string{"debian", "ubuntu22"}, Linux},
	{"file-server", "File server", []string{"smb", "ftp", "ssh"}, []string{"debian", "ubuntu22", "rocky9"}, Linux},
	{"printer", "Network printer", []string{"snmp", "ftp"}, []string{"busybox"}, Embedded},
	{"iot-device", "IoT device", []string{"mqtt", "snmp", "telnet"}, []string{"openwrt", "busybox"}, Embedded},
	{"industrial-control", "PLC / industrial controller", []string{"ics", "snmp"}, []string{"busybox"}, Embedded},
	{"voip-server", "VoIP PBX", []string{"sip"}, []string{"debian", "ubuntu22"}, Linux},
	{"monitoring-node", "Monitoring host", []string{"snmp", "ssh"}, []string{"debian", "rocky9"}, Linux},
	{"devops-host", "Container and Kubernetes host", []string{"docker_api", "ssh", "k8s"}, []string{"ubuntu22", "debian"}, Linux},
	{"deaddeck", "Interactive SSH entry point", []string{"ssh"}, []string{"debian", "ubuntu22"}, Linux},
}

// Archetypes returns every archetype, sorted by slug.
func Archetypes() []Archetype {
	out := append([]Archetype(nil), archetypes...)
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// LookupArchetype returns an archetype by slug.
func LookupArchetype(slug string) (Archetype, bool) {
	for _, a := range archetypes {
		if a.Slug == slug {
			return a, true
		}
	}
	return Archetype{}, false
}
