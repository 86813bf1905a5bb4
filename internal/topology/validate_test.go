package topology

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/decnet/decnet/internal/service/servicetest"
)

// validSpec is a small spec that validates cleanly: a DMZ and an internal
// LAN joined by a bridge decky.
func validSpec() *Spec {
	return &Spec{
		Name: "lab", Host: "local", Seed: "00112233445566778899aabbccddeeff",
		LANs: []LAN{
			{Name: "dmz", Subnet: "10.91.0.0/24", Gateway: "10.91.0.1", Driver: Bridge, DMZ: true},
			{Name: "corp", Subnet: "10.91.1.0/24", Gateway: "10.91.1.1", Driver: Bridge},
		},
		Deckies: []Decky{
			{Name: "web", Persona: Persona{OS: "linux", Distro: "debian", Hostname: "SRV-WEB-42", Archetype: "web-server"},
				Addresses: []Address{{LAN: "dmz", IP: "10.91.0.10"}, {LAN: "corp", IP: "10.91.1.10"}}, ForwardsL3: true,
				Services: []string{"http", "ftp"},
				ServiceConfig: map[string]map[string]any{
					"http": {"server_header": "nginx/1.22.1", "response_code": int64(200), "extra_headers": map[string]any{"X-A": "b"}},
				}},
			{Name: "dc", Persona: Persona{OS: "windows_server", Distro: "win2019", Archetype: "domain-controller"},
				Addresses: []Address{{LAN: "corp", IP: "10.91.1.11"}}, Services: []string{"smb", "rdp", "ldap"}},
		},
	}
}

func TestValidSpecIsValid(t *testing.T) {
	rep := Validate(validSpec(), Options{})
	if len(rep.Issues) != 0 {
		t.Fatalf("want no issue, got %v", rep.Issues)
	}
	if rep.Err() != nil {
		t.Fatal(rep.Err())
	}
}

func TestValidateCodes(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *Spec)
		code   Code
		sev    Severity
		object Ref
		opts   Options
	}{
		{"no dmz", func(s *Spec) { s.LANs[0].DMZ = false }, DMZMissing, Error, Ref{Kind: "topology", Name: "lab"}, Options{}},
		{"no lan at all", func(s *Spec) { s.LANs = nil; s.Deckies = nil }, DMZMissing, Error, Ref{Kind: "topology", Name: "lab"}, Options{}},
		{"two dmz", func(s *Spec) { s.LANs[1].DMZ = true }, DMZMultiple, Error, Ref{Kind: "lan", Name: "corp"}, Options{}},
		{"lan unreachable", func(s *Spec) {
			s.Deckies[0].Addresses = s.Deckies[0].Addresses[:1]
			s.Deckies[0].ForwardsL3 = false
		}, DMZOrphan, Error, Ref{Kind: "lan", Name: "corp"}, Options{}},
		{"decky without address", func(s *Spec) { s.Deckies[1].Addresses = nil }, DeckyOrphan, Error, Ref{Kind: "decky", Name: "dc"}, Options{}},
		{"bait place unknown", func(s *Spec) { s.Deckies[1].Bait = []string{"shell", "desktop"} }, BaitInvalid, Error, Ref{Kind: "decky", Name: "dc"}, Options{}},
		{"bait none with others", func(s *Spec) { s.Deckies[1].Bait = []string{"none", "smb"} }, BaitInvalid, Error, Ref{Kind: "decky", Name: "dc"}, Options{}},
		{"lan name dup", func(s *Spec) { s.LANs = append(s.LANs, LAN{Name: "corp", Subnet: "10.91.2.0/24"}) }, LANNameDup, Error, Ref{Kind: "lan", Name: "corp"}, Options{}},
		{"decky name dup", func(s *Spec) {
			d := s.Deckies[1]
			d.Addresses = []Address{{LAN: "corp", IP: "10.91.1.12"}}
			s.Deckies = append(s.Deckies, d)
		}, DeckyNameDup, Error, Ref{Kind: "decky", Name: "dc"}, Options{}},
		{"ip on unknown lan", func(s *Spec) { s.Deckies[1].Addresses[0].LAN = "nope" }, IPUnknownLAN, Error, Ref{Kind: "decky", Name: "dc", Address: 1}, Options{}},
		{"ip outside subnet", func(s *Spec) { s.Deckies[1].Addresses[0].IP = "10.91.0.50" }, IPOutOfSubnet, Error, Ref{Kind: "decky", Name: "dc", Address: 1}, Options{}},
		{"ip malformed", func(s *Spec) { s.Deckies[1].Addresses[0].IP = "10.91.1.300" }, IPMalformed, Error, Ref{Kind: "decky", Name: "dc", Address: 1}, Options{}},
		{"ip empty", func(s *Spec) { s.Deckies[1].Addresses[0].IP = "" }, IPMalformed, Error, Ref{Kind: "decky", Name: "dc", Address: 1}, Options{}},
		{"ip collision", func(s *Spec) { s.Deckies[1].Addresses[0].IP = "10.91.1.10" }, IPCollision, Error, Ref{Kind: "decky", Name: "dc", Address: 1}, Options{}},
		{"ip is gateway", func(s *Spec) { s.Deckies[1].Addresses[0].IP = "10.91.1.1" }, IPReserved, Error, Ref{Kind: "decky", Name: "dc", Address: 1}, Options{}},
		{"ip is broadcast", func(s *Spec) { s.Deckies[1].Addresses[0].IP = "10.91.1.255" }, IPReserved, Error, Ref{Kind: "decky", Name: "dc", Address: 1}, Options{}},
		{"two addresses on one lan", func(s *Spec) {
			s.Deckies[1].Addresses = append(s.Deckies[1].Addresses, Address{LAN: "corp", IP: "10.91.1.99"})
		}, AddressLANDup, Error, Ref{Kind: "decky", Name: "dc", Address: 2}, Options{}},
		{"subnet malformed", func(s *Spec) { s.LANs[1].Subnet = "10.91.1.0/33" }, SubnetMalformed, Error, Ref{Kind: "lan", Name: "corp"}, Options{}},
		{"subnet not network address", func(s *Spec) { s.LANs[1].Subnet = "10.91.1.7/24" }, SubnetMalformed, Error, Ref{Kind: "lan", Name: "corp"}, Options{}},
		{"subnet overlap", func(s *Spec) { s.LANs[1].Subnet = "10.91.0.0/16" }, SubnetOverlap, Error, Ref{Kind: "lan", Name: "corp"}, Options{}},
		{"subnet overlaps reserved", func(s *Spec) {}, SubnetOverlap, Error, Ref{Kind: "lan", Name: "dmz"},
			Options{Reserved: []Reserved{{Prefix: netip.MustParsePrefix("10.91.0.128/25"), Owner: "topology other"}}}},
		{"gateway malformed", func(s *Spec) { s.LANs[0].Gateway = "x" }, GatewayMalformed, Error, Ref{Kind: "lan", Name: "dmz"}, Options{}},
		{"gateway outside", func(s *Spec) { s.LANs[0].Gateway = "10.1.1.1" }, GatewayOutOfSubnet, Error, Ref{Kind: "lan", Name: "dmz"}, Options{}},
		{"driver unknown", func(s *Spec) { s.LANs[0].Driver = "overlay" }, DriverUnknown, Error, Ref{Kind: "lan", Name: "dmz"}, Options{}},
		{"macvlan without parent", func(s *Spec) { s.LANs[0].Driver = Macvlan }, ParentMissing, Error, Ref{Kind: "lan", Name: "dmz"}, Options{}},
		{"ipvlan shares its parent's MAC", func(s *Spec) { s.LANs[0].Driver, s.LANs[0].Parent = IPvlan, "eth0" }, LANSharedMAC, Warning, Ref{Kind: "lan", Name: "dmz"}, Options{}},
		{"unknown service", func(s *Spec) { s.Deckies[0].Services = append(s.Deckies[0].Services, "gopher") }, UnknownService, Error, Ref{Kind: "service", Name: "gopher", Decky: "web"}, Options{}},
		{"alias spelling", func(s *Spec) { s.Deckies[0].Services = append(s.Deckies[0].Services, "conpot") }, UnknownService, Error, Ref{Kind: "service", Name: "conpot", Decky: "web"}, Options{}},
		{"service twice", func(s *Spec) { s.Deckies[0].Services = append(s.Deckies[0].Services, "ftp") }, ServiceDup, Error, Ref{Kind: "service", Name: "ftp", Decky: "web"}, Options{}},
		{"no services", func(s *Spec) { s.Deckies[0].Services = nil; s.Deckies[0].ServiceConfig = nil }, ServicesEmpty, Warning, Ref{Kind: "decky", Name: "web"}, Options{}},
		{"config for service not run", func(s *Spec) { s.Deckies[0].ServiceConfig["ssh"] = map[string]any{"user": "x"} }, ServiceCfgUndeclared, Error, Ref{Kind: "service", Name: "ssh", Decky: "web"}, Options{}},
		{"config key unknown", func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["colour"] = "red" }, ServiceCfgUnknownKey, Error, Ref{Kind: "service", Name: "http", Decky: "web", Key: "colour"}, Options{}},
		{"config wrong type", func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["response_code"] = "ok" }, ServiceCfgInvalid, Error, Ref{Kind: "service", Name: "http", Decky: "web", Key: "response_code"}, Options{}},
		{"config enum", func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["fake_app"] = "drupal" }, ServiceCfgInvalid, Error, Ref{Kind: "service", Name: "http", Decky: "web", Key: "fake_app"}, Options{}},
		{"config nested wrong type", func(s *Spec) {
			s.Deckies[0].ServiceConfig["http"]["extra_headers"] = map[string]any{"X": int64(1)}
		}, ServiceCfgInvalid, Error, Ref{Kind: "service", Name: "http", Decky: "web", Key: "extra_headers"}, Options{}},
		{"port clash", func(s *Spec) {
			s.Deckies[0].Services = []string{"smtp", "smtp_relay"}
			s.Deckies[0].ServiceConfig = nil
		}, PortClash, Error, Ref{Kind: "service", Name: "smtp_relay", Decky: "web"}, Options{}},
		{"custom port clash", func(s *Spec) {
			s.Custom = []CustomService{{Name: "webapp", Image: "my/app:1", Ports: []string{"80/tcp"}}}
			s.Deckies[0].Services = append(s.Deckies[0].Services, "webapp")
		}, PortClash, Error, Ref{Kind: "service", Name: "webapp", Decky: "web"}, Options{}},
		{"single-homed forwarder outside dmz", func(s *Spec) { s.Deckies[1].ForwardsL3 = true }, GatewayNotInDMZ, Error, Ref{Kind: "decky", Name: "dc"}, Options{}},
		{"bad decky name", func(s *Spec) { s.Deckies[1].Name = "dc;rm -rf" }, NameInvalid, Error, Ref{Kind: "decky", Name: "dc;rm -rf"}, Options{}},
		{"bad lan name", func(s *Spec) { s.LANs[0].Name = "-x"; s.Deckies[0].Addresses[0].LAN = "-x" }, NameInvalid, Error, Ref{Kind: "lan", Name: "-x"}, Options{}},
		{"bad topology name", func(s *Spec) { s.Name = "a b" }, NameInvalid, Error, Ref{Kind: "topology", Name: "a b"}, Options{}},
		{"bad hostname", func(s *Spec) { s.Deckies[0].Persona.Hostname = "srv_01!" }, NameInvalid, Error, Ref{Kind: "decky", Name: "web"}, Options{}},
		{"empty seed", func(s *Spec) { s.Seed = " " }, SeedMissing, Error, Ref{Kind: "topology", Name: "lab"}, Options{}},
		{"unknown os", func(s *Spec) { s.Deckies[0].Persona.OS = "plan9" }, PersonaOSUnknown, Error, Ref{Kind: "decky", Name: "web"}, Options{}},
		{"unknown distro", func(s *Spec) { s.Deckies[0].Persona.Distro = "gentoo" }, PersonaDistroUnknown, Error, Ref{Kind: "decky", Name: "web"}, Options{}},
		{"distro of other family", func(s *Spec) { s.Deckies[0].Persona.Distro = "win10" }, PersonaDistroOS, Error, Ref{Kind: "decky", Name: "web"}, Options{}},
		{"unknown archetype", func(s *Spec) { s.Deckies[0].Persona.Archetype = "toaster" }, PersonaArchetype, Error, Ref{Kind: "decky", Name: "web"}, Options{}},
		{"archetype of other family", func(s *Spec) { s.Deckies[0].Persona.Archetype = "windows-server" }, PersonaArchetypeOS, Warning, Ref{Kind: "decky", Name: "web"}, Options{}},
		{"mssql on linux", func(s *Spec) { s.Deckies[0].Services = append(s.Deckies[0].Services, "mssql") }, PersonaServiceOS, Error, Ref{Kind: "service", Name: "mssql", Decky: "web"}, Options{}},
		{"mssql on linux forced", func(s *Spec) {
			s.Deckies[0].Services = append(s.Deckies[0].Services, "mssql")
			s.Deckies[0].Force = true
		}, PersonaServiceOS, Warning, Ref{Kind: "service", Name: "mssql", Decky: "web"}, Options{}},
		{"iis banner on linux", func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["server_header"] = "Microsoft-IIS/10.0" }, PersonaBannerOS, Warning, Ref{Kind: "service", Name: "http", Decky: "web", Key: "server_header"}, Options{}},
		{"ubuntu banner on debian", func(s *Spec) { s.Deckies[0].ServiceConfig["http"]["server_header"] = "Apache/2.4.52 (Ubuntu)" }, PersonaBannerOS, Warning, Ref{Kind: "service", Name: "http", Decky: "web", Key: "server_header"}, Options{}},
		{"too many ports", func(s *Spec) {
			s.Deckies[0].Services = []string{"ssh", "telnet", "http", "https", "ftp", "smb", "vnc", "smtp", "pop3", "imap", "mysql", "postgres", "redis", "mongodb", "elasticsearch"}
			s.Deckies[0].ServiceConfig = nil
		}, PersonaTooManyPorts, Warning, Ref{Kind: "decky", Name: "web"}, Options{}},
		{"custom without image", func(s *Spec) { s.Custom = []CustomService{{Name: "app"}} }, CustomInvalid, Error, Ref{Kind: "custom_service", Name: "app"}, Options{}},
		{"custom bad port", func(s *Spec) { s.Custom = []CustomService{{Name: "app", Image: "x", Ports: []string{"99999"}}} }, CustomInvalid, Error, Ref{Kind: "custom_service", Name: "app"}, Options{}},
		{"custom named like builtin", func(s *Spec) { s.Custom = []CustomService{{Name: "ssh", Image: "x"}} }, CustomInvalid, Error, Ref{Kind: "custom_service", Name: "ssh"}, Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.mutate(s)
			rep := Validate(s, tc.opts)
			var found bool
			for _, i := range rep.Issues {
				if i.Code == tc.code && i.Object == tc.object {
					found = true
					if i.Severity != tc.sev {
						t.Errorf("%s: severity %s, want %s", tc.code, i.Severity, tc.sev)
					}
					if i.Message == "" {
						t.Errorf("%s: empty message", tc.code)
					}
				}
			}
			if !found {
				t.Fatalf("want %s on %s, got %v", tc.code, tc.object, rep.Issues)
			}
			if (rep.Err() != nil) != (tc.sev == Error) {
				t.Errorf("Err() = %v with severity %s", rep.Err(), tc.sev)
			}
			if tc.sev == Error && !errors.Is(rep.Err(), ErrInvalid) {
				t.Errorf("Err() does not match ErrInvalid")
			}
		})
	}
}

func TestValidateReportsEverythingAtOnce(t *testing.T) {
	s := validSpec()
	s.LANs[0].DMZ = false
	s.Deckies[1].Addresses[0].IP = "bad"
	s.Deckies[0].Services = append(s.Deckies[0].Services, "gopher")
	rep := Validate(s, Options{})
	for _, c := range []Code{DMZMissing, IPMalformed, UnknownService} {
		if !rep.Has(c) {
			t.Errorf("missing %s in %v", c, rep.Issues)
		}
	}
}

// Every service of the catalogue is implemented; one only described is
// reported.
func TestCheckImplemented(t *testing.T) {
	if rep := CheckImplemented(validSpec()); rep.Err() != nil {
		t.Fatalf("the catalogue has unimplemented services: %v", rep.Issues)
	}
	servicetest.RegisterPlaceholder()
	s := validSpec()
	s.Deckies[0].Services = append(s.Deckies[0].Services, servicetest.Placeholder)
	if rep := CheckImplemented(s); !rep.Has(ServiceNotImpl) {
		t.Fatalf("a described-only service: %v, want %s", rep.Issues, ServiceNotImpl)
	}
}

// RDP on a Linux persona is xrdp, as Linux distributions ship it: no
// persona issue.
func TestRDPOnLinuxIsXrdp(t *testing.T) {
	s := validSpec()
	s.Deckies[0].Services = append(s.Deckies[0].Services, "rdp")
	rep := Validate(s, Options{})
	if rep.Has(PersonaServiceOS) || rep.Err() != nil {
		t.Fatalf("rdp on linux: %v", rep.Issues)
	}
}
