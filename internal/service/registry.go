// Package service is the registry of the services a decky can run: for each,
// its slug, the ports it binds with their protocol, and the schema of its
// configuration. The validator, the INI importer, the API and the dashboard
// forms all read the schema from here. Protocol implementations live in
// sub-packages and attach themselves with Implement.
package service

import (
	"fmt"
	"sort"
	"sync"
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

// Info describes one service.
type Info struct {
	Slug    string   `json:"slug"`
	Title   string   `json:"title"`
	Ports   []Port   `json:"ports"`
	Config  []Field  `json:"config"`
	Aliases []string `json:"aliases,omitempty"`
	// WindowsOnly marks services that only Windows machines run (RDP, MSSQL):
	// on another OS family they give the decoy away.
	WindowsOnly bool `json:"windows_only,omitempty"`
	// Implemented is true once a protocol implementation is registered.
	Implemented bool `json:"implemented"`
}

// Field returns the schema of one configuration key.
func (i Info) Field(key string) (Field, bool) {
	for _, f := range i.Config {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

var (
	mu    sync.RWMutex
	impls = map[string]any{}
)

// Implement records that slug has a protocol implementation. impl is the
// implementation's factory, opaque to the registry; the decky runtime reads it
// back with Implementation. Registering twice is a programmer error.
func Implement(slug string, impl any) {
	mu.Lock()
	defer mu.Unlock()
	if _, ok := catalog[slug]; !ok {
		panic("service: implement unknown service " + slug)
	}
	if _, dup := impls[slug]; dup {
		panic("service: implemented twice: " + slug)
	}
	impls[slug] = impl
}

// Implementation returns what Implement registered for slug.
func Implementation(slug string) (any, bool) {
	mu.RLock()
	defer mu.RUnlock()
	impl, ok := impls[slug]
	return impl, ok
}

// Lookup returns a service by slug or alias.
func Lookup(slug string) (Info, bool) {
	if canon, ok := aliases[slug]; ok {
		slug = canon
	}
	info, ok := catalog[slug]
	if !ok {
		return Info{}, false
	}
	_, info.Implemented = Implementation(slug)
	return info, true
}

// All returns every service, sorted by slug.
func All() []Info {
	out := make([]Info, 0, len(catalog))
	for slug := range catalog {
		info, _ := Lookup(slug)
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// Slugs returns every service slug, sorted.
func Slugs() []string {
	out := make([]string, 0, len(catalog))
	for slug := range catalog {
		out = append(out, slug)
	}
	sort.Strings(out)
	return out
}

// Canonical returns the canonical slug for a slug or an alias.
func Canonical(slug string) (string, bool) {
	if canon, ok := aliases[slug]; ok {
		return canon, true
	}
	_, ok := catalog[slug]
	return slug, ok
}

var aliases = func() map[string]string {
	m := map[string]string{}
	for slug, info := range catalog {
		for _, a := range info.Aliases {
			m[a] = slug
		}
	}
	return m
}()

// Namespace returns the protocol namespace of a service's event types:
// the protocol spoken, not the instance (https speaks http).
func Namespace(slug string) string {
	switch slug {
	case "https":
		return "http"
	case "smtp_relay":
		return "smtp"
	case "docker_api":
		return "docker"
	case "ics":
		return "modbus"
	}
	return slug
}
