package topology

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

// MaxOpenPorts is the number of open ports above which a machine looks like
// a honeypot to tools that count them.
const MaxOpenPorts = 15

var (
	nameRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	hostnameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)
)

// ValidName reports whether s may name a topology, LAN, decky or custom
// service: it ends up in container, network and interface names.
func ValidName(s string) bool { return nameRe.MatchString(s) }

// Reserved is a subnet the spec must not overlap, with who holds it.
type Reserved struct {
	Prefix netip.Prefix
	Owner  string // "topology lab", "host route eth0", "docker network bridge"
}

// Options tunes a validation.
type Options struct {
	// Reserved are subnets already in use on the target host (other
	// topologies, host routes, engine networks).
	Reserved []Reserved
}

// Validate checks the spec and returns every issue at once. It is pure and
// shared by the CLI, the master and the agent.
func Validate(s *Spec, opts Options) *Report {
	v := validator{s: s, r: &Report{}, opts: opts, subnets: map[string]netip.Prefix{}}
	v.topology()
	v.lans()
	v.deckies()
	v.reachability()
	sort.SliceStable(v.r.Issues, func(i, j int) bool {
		return v.r.Issues[i].Severity == Error && v.r.Issues[j].Severity != Error
	})
	return v.r
}

type validator struct {
	s       *Spec
	r       *Report
	opts    Options
	subnets map[string]netip.Prefix // valid subnets by LAN name
}

func (v *validator) topology() {
	top := Ref{Kind: "topology", Name: v.s.Name}
	if !ValidName(v.s.Name) {
		v.r.errorf(NameInvalid, top, "topology name %q must be 1-63 characters of letters, digits, '-', '_' or '.', starting with a letter or digit", v.s.Name)
	}
	if strings.TrimSpace(v.s.Seed) == "" {
		v.r.errorf(SeedMissing, top, "the identity seed is empty; every decky identity derives from it")
	}
	seen := map[string]bool{}
	for _, c := range v.s.Custom {
		ref := Ref{Kind: "custom_service", Name: c.Name}
		switch {
		case !ValidName(c.Name):
			v.r.errorf(NameInvalid, ref, "custom service name %q is not a valid name", c.Name)
		case seen[c.Name]:
			v.r.errorf(CustomInvalid, ref, "custom service %q is defined twice", c.Name)
		default:
			if _, known := service.Lookup(c.Name); known {
				v.r.errorf(CustomInvalid, ref, "custom service %q has the name of a built-in service", c.Name)
			}
		}
		seen[c.Name] = true
		if strings.TrimSpace(c.Image) == "" {
			v.r.errorf(CustomInvalid, ref, "custom service %q has no image", c.Name)
		}
		for _, p := range c.Ports {
			if _, err := ParsePort(p); err != nil {
				v.r.errorf(CustomInvalid, ref, "custom service %q: %v", c.Name, err)
			}
		}
	}
}

func (v *validator) lans() {
	names := map[string]bool{}
	var dmz []string
	for _, l := range v.s.LANs {
		ref := Ref{Kind: "lan", Name: l.Name}
		if !ValidName(l.Name) {
			v.r.errorf(NameInvalid, ref, "LAN name %q must be 1-63 characters of letters, digits, '-', '_' or '.'", l.Name)
		}
		if names[l.Name] {
			v.r.errorf(LANNameDup, ref, "two LANs are named %q", l.Name)
			continue
		}
		names[l.Name] = true
		if l.DMZ {
			dmz = append(dmz, l.Name)
		}
		switch l.Driver {
		case "", Bridge:
		case Macvlan, IPvlan:
			if l.Parent == "" {
				v.r.errorf(ParentMissing, ref, "a %s LAN needs the host interface it attaches to (parent)", l.Driver)
			}
			if l.Driver == IPvlan {
				v.r.warnf(LANSharedMAC, ref, "deckies on ipvlan LAN %s answer with the MAC of %s, one vendor for all of them; use macvlan for a persona MAC per decky", l.Name, l.Parent)
			}
		default:
			v.r.errorf(DriverUnknown, ref, "driver %q is not one of bridge, macvlan, ipvlan", l.Driver)
		}
		p, err := netip.ParsePrefix(l.Subnet)
		if err != nil || !p.Addr().Is4() || p != p.Masked() || p.Bits() > 30 {
			v.r.errorf(SubnetMalformed, ref, "subnet %q is not an IPv4 network in CIDR form with room for hosts (e.g. 10.20.0.0/24)", l.Subnet)
			continue
		}
		v.subnets[l.Name] = p
		if l.Gateway != "" {
			gw, err := netip.ParseAddr(l.Gateway)
			switch {
			case err != nil || !gw.Is4():
				v.r.errorf(GatewayMalformed, ref, "gateway %q is not an IPv4 address", l.Gateway)
			case !p.Contains(gw):
				v.r.errorf(GatewayOutOfSubnet, ref, "gateway %s is outside subnet %s", gw, p)
			}
		}
	}
	switch {
	case len(dmz) == 0 && len(v.s.LANs) > 0:
		v.r.errorf(DMZMissing, Ref{Kind: "topology", Name: v.s.Name}, "no LAN is marked as the DMZ; exactly one must be")
	case len(dmz) == 0:
		v.r.errorf(DMZMissing, Ref{Kind: "topology", Name: v.s.Name}, "the topology has no LAN; it needs at least the DMZ")
	case len(dmz) > 1:
		for _, n := range dmz[1:] {
			v.r.errorf(DMZMultiple, Ref{Kind: "lan", Name: n}, "LANs %s are all marked as the DMZ; exactly one must be", strings.Join(dmz, ", "))
		}
	}
	// Overlaps, within the spec and against what the host already uses.
	lanNames := make([]string, 0, len(v.subnets))
	for _, l := range v.s.LANs {
		if _, ok := v.subnets[l.Name]; ok && !slices.Contains(lanNames, l.Name) {
			lanNames = append(lanNames, l.Name)
		}
	}
	for i, a := range lanNames {
		for _, b := range lanNames[i+1:] {
			if v.subnets[a].Overlaps(v.subnets[b]) {
				v.r.errorf(SubnetOverlap, Ref{Kind: "lan", Name: b}, "subnet %s overlaps LAN %s (%s)", v.subnets[b], a, v.subnets[a])
			}
		}
		for _, res := range v.opts.Reserved {
			if v.subnets[a].Overlaps(res.Prefix) {
				v.r.errorf(SubnetOverlap, Ref{Kind: "lan", Name: a}, "subnet %s overlaps %s (%s)", v.subnets[a], res.Owner, res.Prefix)
			}
		}
	}
}

func (v *validator) deckies() {
	names := map[string]bool{}
	used := map[string]map[netip.Addr]string{} // LAN -> IP -> decky
	for i := range v.s.Deckies {
		d := &v.s.Deckies[i]
		ref := Ref{Kind: "decky", Name: d.Name}
		if !ValidName(d.Name) {
			v.r.errorf(NameInvalid, ref, "decky name %q must be 1-63 characters of letters, digits, '-', '_' or '.'", d.Name)
		}
		if names[d.Name] {
			v.r.errorf(DeckyNameDup, ref, "two deckies are named %q", d.Name)
		}
		names[d.Name] = true
		v.addresses(d, used)
		v.persona(d)
		v.services(d)
		v.bait(d)
		v.live(d)
	}
}

// BaitPlaces are the places a decky's bait may go (Decky.Bait).
var BaitPlaces = []string{"shell", "ftp", "smb", "mail"}

func (v *validator) bait(d *Decky) {
	ref := Ref{Kind: "decky", Name: d.Name}
	for _, p := range d.Bait {
		switch {
		case p == "none" && len(d.Bait) > 1:
			v.r.errorf(BaitInvalid, ref, "bait: none goes alone")
		case p != "none" && !slices.Contains(BaitPlaces, p):
			v.r.errorf(BaitInvalid, ref, "bait: %q is not shell, ftp, smb, mail or none", p)
		}
	}
}

func (v *validator) addresses(d *Decky, used map[string]map[netip.Addr]string) {
	ref := Ref{Kind: "decky", Name: d.Name}
	if len(d.Addresses) == 0 {
		v.r.errorf(DeckyOrphan, ref, "decky %s has no address on any LAN", d.Name)
		return
	}
	onLAN := map[string]bool{}
	for n, a := range d.Addresses {
		aref := Ref{Kind: "decky", Name: d.Name, Address: n + 1}
		lan := v.s.LAN(a.LAN)
		if lan == nil {
			v.r.errorf(IPUnknownLAN, aref, "address %s is on LAN %q, which does not exist", a.IP, a.LAN)
			continue
		}
		if onLAN[a.LAN] {
			v.r.errorf(AddressLANDup, aref, "decky %s has two addresses on LAN %s", d.Name, a.LAN)
		}
		onLAN[a.LAN] = true
		ip, err := netip.ParseAddr(a.IP)
		if err != nil || !ip.Is4() {
			v.r.errorf(IPMalformed, aref, "address %q is not an IPv4 address", a.IP)
			continue
		}
		subnet, ok := v.subnets[a.LAN]
		if !ok {
			continue // the LAN's own issue was reported
		}
		if !subnet.Contains(ip) {
			v.r.errorf(IPOutOfSubnet, aref, "address %s is outside LAN %s (%s)", ip, a.LAN, subnet)
			continue
		}
		if reason := reservedReason(subnet, lan.Gateway, ip); reason != "" {
			v.r.errorf(IPReserved, aref, "address %s is the %s of LAN %s", ip, reason, a.LAN)
			continue
		}
		if used[a.LAN] == nil {
			used[a.LAN] = map[netip.Addr]string{}
		}
		if other, taken := used[a.LAN][ip]; taken {
			v.r.errorf(IPCollision, aref, "address %s on LAN %s is also held by decky %s", ip, a.LAN, other)
			continue
		}
		used[a.LAN][ip] = d.Name
	}
	if d.ForwardsL3 && len(d.Addresses) == 1 {
		if lan := v.s.LAN(d.HomeLAN()); lan != nil && !lan.DMZ {
			v.r.errorf(GatewayNotInDMZ, ref, "decky %s forwards traffic (forwards_l3) but sits only on LAN %s, which is not the DMZ: put it in the DMZ or on a second LAN", d.Name, lan.Name)
		}
	}
}

// reservedReason says why ip may not be given to a decky, or "".
func reservedReason(subnet netip.Prefix, gateway string, ip netip.Addr) string {
	if ip == subnet.Addr() {
		return "network address"
	}
	if ip == lastAddr(subnet) {
		return "broadcast address"
	}
	gw := DefaultGateway(subnet)
	if gateway != "" {
		if g, err := netip.ParseAddr(gateway); err == nil {
			gw = g
		}
	}
	if ip == gw {
		return "gateway"
	}
	return ""
}

func (v *validator) persona(d *Decky) {
	ref := Ref{Kind: "decky", Name: d.Name}
	fam := persona.Family(d.Persona.OS)
	if _, ok := persona.LookupFamily(fam); !ok {
		v.r.errorf(PersonaOSUnknown, ref, "persona OS %q is not one of %s", d.Persona.OS, familyList())
		fam = ""
	}
	if d.Persona.Distro != "" {
		dist, ok := persona.LookupDistro(d.Persona.Distro)
		switch {
		case !ok:
			v.r.errorf(PersonaDistroUnknown, ref, "distro %q is unknown (see decnet distros)", d.Persona.Distro)
		case fam != "" && dist.Family != fam:
			v.r.errorf(PersonaDistroOS, ref, "distro %s is a %s system but the persona OS is %s", dist.Slug, dist.Family, fam)
		}
	}
	if d.Persona.Archetype != "" {
		a, ok := persona.LookupArchetype(d.Persona.Archetype)
		switch {
		case !ok:
			v.r.errorf(PersonaArchetype, ref, "archetype %q is unknown (see decnet archetypes)", d.Persona.Archetype)
		case fam != "" && a.Family != fam:
			v.r.warnf(PersonaArchetypeOS, ref, "archetype %s is normally a %s machine, not %s", a.Slug, a.Family, fam)
		}
	}
	if d.Persona.Hostname != "" && !hostnameRe.MatchString(d.Persona.Hostname) {
		v.r.errorf(NameInvalid, ref, "hostname %q is not a valid host name", d.Persona.Hostname)
	}
}

func (v *validator) services(d *Decky) {
	ref := Ref{Kind: "decky", Name: d.Name}
	if len(d.Services) == 0 {
		// A host with every port closed is plausible (it still answers at
		// the network layer as its persona), but rarely what was meant.
		v.r.warnf(ServicesEmpty, ref, "decky %s runs no service: it only answers at the network layer", d.Name)
	}
	fam := persona.Family(d.Persona.OS)
	seen := map[string]bool{}
	ports := map[service.Port]string{}
	for _, slug := range d.Services {
		sref := Ref{Kind: "service", Name: slug, Decky: d.Name}
		if seen[slug] {
			v.r.errorf(ServiceDup, sref, "service %s is listed twice", slug)
			continue
		}
		seen[slug] = true
		var svcPorts []service.Port
		if info, ok := service.Lookup(slug); ok {
			if info.ID != slug {
				v.r.errorf(UnknownService, sref, "service %q is spelled %q here", info.ID, slug)
				continue
			}
			svcPorts = info.Ports
			if !info.Fits(fam) && fam != "" {
				msg := fmt.Sprintf("%s only runs on %s, and the persona is %s: scanners flag the mix", slug, familyNames(info.OS), fam)
				if d.Force {
					v.r.warnf(PersonaServiceOS, sref, "%s (accepted: force is set)", msg)
				} else {
					v.r.errorf(PersonaServiceOS, sref, "%s; set force: true to deploy it anyway", msg)
				}
			}
		} else if c := v.s.CustomService(slug); c != nil {
			for _, p := range c.Ports {
				if port, err := ParsePort(p); err == nil {
					svcPorts = append(svcPorts, port)
				}
			}
		} else {
			v.r.errorf(UnknownService, sref, "service %q is unknown (see decnet services)", slug)
			continue
		}
		for _, p := range svcPorts {
			if other, clash := ports[p]; clash {
				v.r.errorf(PortClash, sref, "services %s and %s both bind %s", other, slug, p)
				continue
			}
			ports[p] = slug
		}
	}
	if len(ports) > MaxOpenPorts {
		v.r.warnf(PersonaTooManyPorts, ref, "decky %s opens %d ports; more than %d open ports is a classic honeypot tell", d.Name, len(ports), MaxOpenPorts)
	}
	for _, slug := range slices.Sorted(maps.Keys(d.ServiceConfig)) {
		cfg := d.ServiceConfig[slug]
		sref := Ref{Kind: "service", Name: slug, Decky: d.Name}
		if !seen[slug] {
			v.r.errorf(ServiceCfgUndeclared, sref, "settings are given for service %s, which decky %s does not run", slug, d.Name)
			continue
		}
		info, builtin := service.Lookup(slug)
		if !builtin {
			for _, key := range slices.Sorted(maps.Keys(cfg)) {
				kref := sref
				kref.Key = key
				v.r.errorf(ServiceCfgUnknownKey, kref, "custom service %s takes no settings", slug)
			}
			continue
		}
		v.settings(d, sref, &info, cfg)
	}
}

// settings decodes a decky's settings for a service as its runtime will
// (strictly, then the settings' own checks) and reports every problem.
func (v *validator) settings(d *Decky, sref Ref, info *service.Info, cfg map[string]any) {
	_, err := info.Decode(cfg)
	var joined interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var se *service.SettingError
		if !errors.As(e, &se) {
			continue
		}
		kref := sref
		kref.Key = se.Key
		switch {
		case se.Unknown:
			v.r.errorf(ServiceCfgUnknownKey, kref, "%v", se.Err)
		default:
			v.r.errorf(ServiceCfgInvalid, kref, "%v", se.Err)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(cfg)) {
		f, known := info.Field(key)
		if !known {
			continue
		}
		if val, err := f.Check(cfg[key]); err == nil {
			if s, ok := val.(string); ok {
				kref := sref
				kref.Key = key
				v.bannerOS(d, kref, s)
			}
		}
	}
}

// bannerOS warns when a free-text setting names an OS other than the
// persona's, such as an IIS Server header on a Linux decky.
func (v *validator) bannerOS(d *Decky, ref Ref, text string) {
	fam := persona.Family(d.Persona.OS)
	if fam == "" {
		return
	}
	lower := strings.ToLower(text)
	for _, hint := range osHints {
		if !strings.Contains(lower, hint.word) {
			continue
		}
		if hint.family != fam && !(hint.family.IsWindows() && fam.IsWindows()) {
			v.r.warnf(PersonaBannerOS, ref, "%q names %s, but the persona is %s", text, hint.word, fam)
			return
		}
		if hint.distros != nil && d.Persona.Distro != "" && !slices.Contains(hint.distros, d.Persona.Distro) {
			v.r.warnf(PersonaBannerOS, ref, "%q names %s, but the persona's distro is %s", text, hint.word, d.Persona.Distro)
			return
		}
	}
}

var osHints = []struct {
	word    string
	family  persona.Family
	distros []string // nil: any distro of the family
}{
	{"windows", persona.Windows, nil}, {"microsoft", persona.Windows, nil}, {"iis", persona.Windows, nil},
	{"win32", persona.Windows, nil}, {"win64", persona.Windows, nil},
	{"ubuntu", persona.Linux, []string{"ubuntu22", "ubuntu20"}},
	{"debian", persona.Linux, []string{"debian", "kali"}},
	{"centos", persona.Linux, []string{"centos7"}},
	{"rocky", persona.Linux, []string{"rocky9"}},
	{"fedora", persona.Linux, []string{"fedora"}},
	{"red hat", persona.Linux, []string{"rocky9", "centos7", "fedora"}},
	{"alpine", persona.Linux, []string{"alpine"}},
	{"kali", persona.Linux, []string{"kali"}},
	{"freebsd", persona.BSD, nil}, {"openbsd", persona.BSD, nil},
	{"cisco", persona.Cisco, nil},
}

func (v *validator) reachability() {
	var dmz string
	for _, l := range v.s.LANs {
		if l.DMZ {
			dmz = l.Name
			break
		}
	}
	if dmz == "" {
		return
	}
	adj := map[string][]string{}
	for _, d := range v.s.Deckies {
		for i, a := range d.Addresses {
			for _, b := range d.Addresses[i+1:] {
				adj[a.LAN] = append(adj[a.LAN], b.LAN)
				adj[b.LAN] = append(adj[b.LAN], a.LAN)
			}
		}
	}
	reached := map[string]bool{dmz: true}
	queue := []string{dmz}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, n := range adj[cur] {
			if !reached[n] {
				reached[n] = true
				queue = append(queue, n)
			}
		}
	}
	for _, l := range v.s.LANs {
		if !reached[l.Name] {
			v.r.errorf(DMZOrphan, Ref{Kind: "lan", Name: l.Name}, "LAN %s cannot be reached from the DMZ %s through bridge deckies", l.Name, dmz)
		}
	}
}

// CheckImplemented reports every service of the spec that has no protocol
// implementation yet. Deploying such a spec is refused with these issues;
// a dry run shows them.
func CheckImplemented(s *Spec) *Report {
	r := &Report{}
	for _, d := range s.Deckies {
		for _, slug := range d.Services {
			info, ok := service.Lookup(slug)
			if ok && !info.Implemented {
				r.errorf(ServiceNotImpl, Ref{Kind: "service", Name: slug, Decky: d.Name},
					"service %s is registered but not implemented yet in this version; remove it from decky %s to deploy", slug, d.Name)
			}
		}
	}
	return r
}

// ParsePort parses "8080", "8080/tcp" or "161/udp".
func ParsePort(s string) (service.Port, error) {
	num, proto, found := strings.Cut(strings.TrimSpace(s), "/")
	p := service.Port{Proto: service.TCP}
	if found {
		switch strings.ToLower(proto) {
		case "tcp":
		case "udp":
			p.Proto = service.UDP
		default:
			return p, fmt.Errorf("port %q: protocol must be tcp or udp", s)
		}
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || n == 0 {
		return p, fmt.Errorf("port %q is not a number between 1 and 65535", s)
	}
	p.Number = uint16(n)
	return p, nil
}

func familyList() string {
	var names []string
	for _, f := range persona.Families() {
		names = append(names, string(f.Family))
	}
	return strings.Join(names, ", ")
}

func fieldList(info service.Info) string {
	if len(info.Config) == 0 {
		return "none"
	}
	var keys []string
	for _, f := range info.Config {
		keys = append(keys, f.Key)
	}
	return strings.Join(keys, ", ")
}

// familyNames says which families run a service: "Windows" for the
// Windows ones, else their names.
func familyNames(fams []persona.Family) string {
	if !slices.ContainsFunc(fams, func(f persona.Family) bool { return !f.IsWindows() }) {
		return "Windows"
	}
	names := make([]string, len(fams))
	for i, f := range fams {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}
