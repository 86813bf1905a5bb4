package topology

// Demo is the topology `decnet up` runs: four deckies of different
// archetypes on one LAN, each with services this build implements, so a
// new user has something to attack at once.
func Demo(seed, subnet string) *Spec {
	s := &Spec{Name: "demo", Host: "local", Seed: seed,
		LANs: []LAN{{Name: "dmz", Subnet: subnet, Driver: Bridge, DMZ: true}}}
	add := func(name string, p Persona, services []string, cfg map[string]map[string]any) {
		s.Deckies = append(s.Deckies, Decky{Name: name, Persona: p, Addresses: []Address{{LAN: "dmz"}},
			Services: services, ServiceConfig: cfg})
	}
	add("web-01", Persona{OS: "linux", Distro: "debian", Hostname: "SRV-WEB-42", Archetype: "web-server"},
		[]string{"http", "ftp"}, map[string]map[string]any{"http": {"fake_app": "wordpress"}})
	add("gw-01", Persona{OS: "linux", Distro: "ubuntu22", Hostname: "bastion-01", Archetype: "deaddeck"},
		[]string{"ssh", "telnet"}, map[string]map[string]any{
			"ssh":    {"users": []any{"root:toor", "admin:admin"}},
			"telnet": {"users": []any{"root:toor", "admin:admin"}}})
	add("db-01", Persona{OS: "linux", Distro: "rocky9", Hostname: "db07.localdomain", Archetype: "database-server"},
		[]string{"mysql", "redis"}, nil)
	add("cam-01", Persona{OS: "embedded", Distro: "busybox", Hostname: "ipcam-3f9a", Archetype: "iot-device"},
		[]string{"telnet", "http"}, map[string]map[string]any{"telnet": {"users": []any{"root:xc3511"}}})
	return s
}
