// Package service is the registry of the services a decky can run. Each
// protocol package under internal/service/<proto> describes itself in one
// Info and registers it from init(); internal/service/all links them all
// into the binary. Everything else reads the registry: topology validation
// and the INI importer (ports, OS fit, the settings schema, legacy INI
// keys), the API's catalogue and the dashboard's forms (the schema), the
// event catalogue (the types a service emits), and the decky runtime (the
// protocol implementation).
//
// The package is pure: it describes, it runs nothing. The machinery that
// serves connections is internal/service/serve.
package service

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
)

// Proto is a transport protocol.
type Proto string

// The transport protocols.
const (
	TCP Proto = "tcp"
	UDP Proto = "udp"
)

// Port is one port a service binds.
type Port struct {
	Number uint16 `json:"port"`
	Proto  Proto  `json:"proto"`
}

func (p Port) String() string { return fmt.Sprintf("%d/%s", p.Number, p.Proto) }

// TCPPorts and UDPPorts list ports of one protocol.
func TCPPorts(ports ...uint16) []Port { return portsOf(TCP, ports) }

// UDPPorts lists UDP ports.
func UDPPorts(ports ...uint16) []Port { return portsOf(UDP, ports) }

func portsOf(p Proto, ports []uint16) []Port {
	out := make([]Port, len(ports))
	for i, n := range ports {
		out[i] = Port{n, p}
	}
	return out
}

// Legacy is a key of the original system's INI files that a service section
// may hold. Setting names the setting it maps to; when Setting is empty the
// key is accepted with a warning and has no effect, for the reason in Note.
type Legacy struct {
	Key     string `json:"key"`
	Setting string `json:"setting,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Info describes one service. Protocol packages fill the first group of
// fields; Register derives the rest.
type Info struct {
	// ID is the slug specs name the service by.
	ID    string `json:"slug"`
	Title string `json:"title"`
	// Aliases are other names specs and INI files may use (conpot,
	// docker-api).
	Aliases []string `json:"aliases,omitempty"`
	// Ports are the ports the implementation binds, with their protocol.
	Ports []Port `json:"ports"`
	// OS lists the OS families whose machines run this service; empty means
	// every family. A service outside its families gives the decoy away.
	OS []persona.Family `json:"os,omitempty"`
	// Namespace is the first part of the service's event types: the
	// protocol spoken (https speaks http). Empty means ID.
	Namespace string `json:"namespace"`
	// Settings returns fresh settings holding their defaults: a pointer to
	// a struct whose fields carry the tags Schema reads. Nil means the
	// service takes no settings.
	Settings func() any `json:"-"`
	// Events are the types the service emits beyond the session types
	// every namespace gets (event.SessionTypes).
	Events []event.Type `json:"events,omitempty"`
	// Legacy lists keys of the original system's INI files.
	Legacy []Legacy `json:"legacy_keys,omitempty"`
	// New is the protocol implementation, opaque here: the decky runtime
	// asserts the type it runs (serve.Factory). Nil while the service is
	// only described.
	New any `json:"-"`

	// Config is the settings schema, derived from Settings.
	Config []Field `json:"config"`
	// WindowsOnly is true when every family in OS is a Windows one.
	WindowsOnly bool `json:"windows_only,omitempty"`
	// Implemented is true when New is set.
	Implemented bool `json:"implemented"`
}

// Field returns the schema of one setting.
func (i *Info) Field(key string) (Field, bool) {
	for _, f := range i.Config {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Fits reports whether a machine of family f runs the service.
func (i *Info) Fits(f persona.Family) bool {
	return len(i.OS) == 0 || slices.Contains(i.OS, f)
}

// LegacyKey returns what a legacy INI key of the service means.
func (i *Info) LegacyKey(key string) (Legacy, bool) {
	for _, l := range i.Legacy {
		if l.Key == key {
			return l, true
		}
	}
	return Legacy{}, false
}

var (
	mu         sync.RWMutex
	registry   = map[string]*Info{}
	aliases    = map[string]string{}
	namespaces = map[string]bool{}
)

// Register adds a service to the registry and its event types to the event
// catalogue. It is called from init(); a malformed description, a taken ID
// or alias, or a settings type the schema cannot describe is a programmer
// error and panics.
func Register(info Info) {
	mu.Lock()
	defer mu.Unlock()
	if info.ID == "" || info.Title == "" || len(info.Ports) == 0 {
		panic(fmt.Sprintf("service: register %q: id, title and ports are required", info.ID))
	}
	for _, name := range append([]string{info.ID}, info.Aliases...) {
		if _, dup := registry[name]; dup {
			panic("service: registered twice: " + name)
		}
		if _, dup := aliases[name]; dup {
			panic("service: alias taken: " + name)
		}
	}
	if info.Namespace == "" {
		info.Namespace = info.ID
	}
	if info.Settings != nil {
		cfg, err := schemaOf(info.Settings())
		if err != nil {
			panic(fmt.Sprintf("service %s: settings: %v", info.ID, err))
		}
		info.Config = cfg
	}
	for _, l := range info.Legacy {
		if _, ok := info.Field(l.Key); ok {
			panic(fmt.Sprintf("service %s: legacy key %s is a setting", info.ID, l.Key))
		}
		if _, ok := info.Field(l.Setting); l.Setting != "" && !ok {
			panic(fmt.Sprintf("service %s: legacy key %s maps to unknown setting %s", info.ID, l.Key, l.Setting))
		}
	}
	info.WindowsOnly = len(info.OS) > 0 && !slices.ContainsFunc(info.OS, func(f persona.Family) bool { return !f.IsWindows() })
	info.Implemented = info.New != nil
	// Only an implementation emits: a service that is only described
	// adds nothing to the event catalogue.
	if info.Implemented && !namespaces[info.Namespace] {
		namespaces[info.Namespace] = true
		event.Declare(event.SessionTypes(info.Namespace)...)
		if slices.ContainsFunc(info.Ports, func(p Port) bool { return p.Proto == UDP }) {
			event.Declare(event.PacketTypes(info.Namespace)...)
		}
	}
	event.Declare(info.Events...)
	registry[info.ID] = &info
	for _, a := range info.Aliases {
		aliases[a] = info.ID
	}
}

// Lookup returns a service by ID or alias.
func Lookup(name string) (Info, bool) {
	mu.RLock()
	defer mu.RUnlock()
	if canon, ok := aliases[name]; ok {
		name = canon
	}
	info, ok := registry[name]
	if !ok {
		return Info{}, false
	}
	return *info, true
}

// Canonical returns the ID for an ID or an alias.
func Canonical(name string) (string, bool) {
	info, ok := Lookup(name)
	return info.ID, ok
}

// All returns every registered service, sorted by ID.
func All() []Info {
	mu.RLock()
	out := make([]Info, 0, len(registry))
	for _, info := range registry {
		out = append(out, *info)
	}
	mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// IDs returns every registered ID, sorted.
func IDs() []string {
	all := All()
	out := make([]string, len(all))
	for i, info := range all {
		out[i] = info.ID
	}
	return out
}

// Namespace returns the event namespace of a service, or the name itself
// when no such service is registered.
func Namespace(name string) string {
	if info, ok := Lookup(name); ok {
		return info.Namespace
	}
	return name
}

// isNil reports whether v is nil or a nil pointer.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
