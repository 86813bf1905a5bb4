// Package topology holds the desired-state document of DECNET: a typed spec of
// LANs and deckies, its strict decoding from YAML, JSON and the original
// system's INI files, validation with stable codes, the canonical version
// hash, the subnet and IP allocators and the generator. It is pure: no I/O
// beyond the readers it is handed, no clock, no global state.
package topology

// Spec is one topology: the unit of desired state that a master pushes to an
// agent. Every field but Status and the UI positions is semantic and part of
// the version hash.
type Spec struct {
	// ID is assigned by the master when the topology is stored.
	ID   string `json:"id,omitempty" yaml:"id,omitempty"`
	Name string `json:"name" yaml:"name"`
	// Host is the target host that runs the topology ("local" for the
	// master's own agent).
	Host string `json:"host,omitempty" yaml:"host,omitempty"`
	// Seed is the identity seed: every per-decky identity value derives from
	// (Seed, decky name). Created with the topology and kept for its life.
	Seed    string  `json:"seed" yaml:"seed"`
	LANs    []LAN   `json:"lans" yaml:"lans"`
	Deckies []Decky `json:"deckies" yaml:"deckies"`
	// Custom holds bring-your-own service definitions referenced by deckies.
	Custom []CustomService `json:"custom_services,omitempty" yaml:"custom_services,omitempty"`

	// Status is what the master knows about the running topology. It is
	// informational and never part of the hash.
	Status *Status `json:"status,omitempty" yaml:"status,omitempty" hash:"-"`
}

// Driver is how a LAN is materialised on the host.
type Driver string

// The LAN drivers.
const (
	Bridge  Driver = "bridge"
	Macvlan Driver = "macvlan"
	IPvlan  Driver = "ipvlan"
)

// LAN is one network segment.
type LAN struct {
	Name    string `json:"name" yaml:"name"`
	Subnet  string `json:"subnet" yaml:"subnet"`
	Gateway string `json:"gateway,omitempty" yaml:"gateway,omitempty"`
	Driver  Driver `json:"driver,omitempty" yaml:"driver,omitempty"`
	// Parent is the host interface of a macvlan or ipvlan LAN.
	Parent string `json:"parent,omitempty" yaml:"parent,omitempty"`
	DMZ    bool   `json:"dmz,omitempty" yaml:"dmz,omitempty"`

	UI *Position `json:"ui,omitempty" yaml:"ui,omitempty" hash:"-"`
}

// Decky is one fake machine.
type Decky struct {
	Name    string  `json:"name" yaml:"name"`
	Persona Persona `json:"persona" yaml:"persona"`
	// Addresses holds one address per LAN the decky sits on; the first is its
	// home LAN. A decky on two LANs is a bridge between them.
	Addresses  []Address `json:"addresses" yaml:"addresses"`
	ForwardsL3 bool      `json:"forwards_l3,omitempty" yaml:"forwards_l3,omitempty"`
	Services   []string  `json:"services" yaml:"services"`
	// ServiceConfig holds per-service settings keyed by service slug; each
	// key must be declared by that service's schema.
	ServiceConfig map[string]map[string]any `json:"service_config,omitempty" yaml:"service_config,omitempty"`
	// Force accepts persona inconsistencies (a Windows-only service on a
	// Linux persona) that validation otherwise refuses.
	Force bool `json:"force,omitempty" yaml:"force,omitempty"`
	// Bait lists where the decky carries bait with honey credentials:
	// shell (the SSH and Telnet filesystem), ftp, smb, mail (IMAP and
	// POP3 mailboxes), or none. Absent means every place among the
	// decky's services (package bait).
	Bait []string `json:"bait,omitempty" yaml:"bait,omitempty"`
	// Live holds the controls an operator changes on the running decky
	// (tarpits, dropped files); applying them never restarts it.
	Live *Live `json:"live,omitempty" yaml:"live,omitempty"`

	UI *Position `json:"ui,omitempty" yaml:"ui,omitempty" hash:"-"`
}

// Persona is who a decky pretends to be.
type Persona struct {
	OS        string `json:"os" yaml:"os"`
	Distro    string `json:"distro,omitempty" yaml:"distro,omitempty"`
	Hostname  string `json:"hostname,omitempty" yaml:"hostname,omitempty"`
	Archetype string `json:"archetype,omitempty" yaml:"archetype,omitempty"`
}

// Address is a decky's IP on one LAN.
type Address struct {
	LAN string `json:"lan" yaml:"lan"`
	IP  string `json:"ip" yaml:"ip"`
}

// CustomService is a bring-your-own service: an operator's container image
// that joins the decky's network namespace.
type CustomService struct {
	Name  string   `json:"name" yaml:"name"`
	Image string   `json:"image" yaml:"image"`
	Exec  []string `json:"exec,omitempty" yaml:"exec,omitempty"`
	Ports []string `json:"ports,omitempty" yaml:"ports,omitempty"`
}

// Position is where the dashboard draws an object.
type Position struct {
	X float64 `json:"x" yaml:"x"`
	Y float64 `json:"y" yaml:"y"`
}

// Status is the master's view of a deployed topology; never hashed.
type Status struct {
	State       string         `json:"state,omitempty" yaml:"state,omitempty"`
	CreatedAt   string         `json:"created_at,omitempty" yaml:"created_at,omitempty"`
	UpdatedAt   string         `json:"updated_at,omitempty" yaml:"updated_at,omitempty"`
	LastError   string         `json:"last_error,omitempty" yaml:"last_error,omitempty"`
	NeedsResync bool           `json:"needs_resync,omitempty" yaml:"needs_resync,omitempty"`
	Counters    map[string]int `json:"counters,omitempty" yaml:"counters,omitempty"`
}

// HomeLAN returns the name of the decky's home LAN, or "".
func (d *Decky) HomeLAN() string {
	if len(d.Addresses) == 0 {
		return ""
	}
	return d.Addresses[0].LAN
}

// IsBridge reports whether the decky sits on more than one LAN.
func (d *Decky) IsBridge() bool { return len(d.Addresses) > 1 }

// LAN returns the LAN with the given name, or nil.
func (s *Spec) LAN(name string) *LAN {
	for i := range s.LANs {
		if s.LANs[i].Name == name {
			return &s.LANs[i]
		}
	}
	return nil
}

// Decky returns the decky with the given name, or nil.
func (s *Spec) Decky(name string) *Decky {
	for i := range s.Deckies {
		if s.Deckies[i].Name == name {
			return &s.Deckies[i]
		}
	}
	return nil
}

// CustomService returns the custom service with the given name, or nil.
func (s *Spec) CustomService(name string) *CustomService {
	for i := range s.Custom {
		if s.Custom[i].Name == name {
			return &s.Custom[i]
		}
	}
	return nil
}
