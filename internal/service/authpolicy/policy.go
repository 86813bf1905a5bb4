// Package authpolicy decides which logins an interactive decky service
// (SSH, Telnet) accepts, from the service's settings: a list of
// user:password pairs (users), the original system's password, user and
// user_password keys, and accept_after N (any password once a source has
// failed N times, which lets a bot "succeed" the way it would on a weak
// real host). It is shared so that every login service behaves alike.
package authpolicy

import (
	"strings"
	"sync"
)

// maxSources bounds the per-source failure counts.
const maxSources = 65536

// Policy is safe for concurrent use.
type Policy struct {
	creds    map[string]map[string]bool // user -> accepted passwords
	anyAfter int

	mu    sync.Mutex
	fails map[string]int // source ip -> failed attempts
}

// Logins are the login settings an interactive service embeds in its
// own settings.
type Logins struct {
	Password     string   `json:"password" doc:"Root password the accept policy takes (legacy key)"`
	User         string   `json:"user" doc:"Extra login account"`
	UserPassword string   `json:"user_password" kind:"secret" doc:"Password of the extra account (legacy key)"`
	Users        []string `json:"users" doc:"Accepted user:password pairs, e.g. root:toor"`
	AcceptAfter  int      `json:"accept_after" min:"0" max:"100" doc:"Accept any password after this many failed attempts (0: never)"`
}

// New makes the policy of a service's login settings. With nothing
// configured it accepts root:admin, the original system's default, so a
// decky is never a wall that accepts nobody.
func New(cfg Logins) *Policy {
	p := &Policy{creds: map[string]map[string]bool{}, fails: map[string]int{}, anyAfter: cfg.AcceptAfter}
	add := func(u, pw string) {
		if u == "" {
			return
		}
		if p.creds[u] == nil {
			p.creds[u] = map[string]bool{}
		}
		p.creds[u][pw] = true
	}
	for _, s := range cfg.Users {
		u, pw, _ := strings.Cut(s, ":")
		add(u, pw)
	}
	if cfg.Password != "" {
		add("root", cfg.Password)
	}
	if cfg.User != "" && cfg.UserPassword != "" {
		add(cfg.User, cfg.UserPassword)
	}
	if len(p.creds) == 0 && p.anyAfter == 0 {
		add("root", "admin")
	}
	return p
}

// Accept applies the policy to one password attempt from source src and
// counts a failure.
func (p *Policy) Accept(src, user string, pass []byte) bool {
	if p.creds[user][string(pass)] {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.anyAfter > 0 && p.fails[src] >= p.anyAfter {
		return true
	}
	if _, ok := p.fails[src]; !ok && len(p.fails) >= maxSources {
		for k := range p.fails { // forget an arbitrary source
			delete(p.fails, k)
			break
		}
	}
	p.fails[src]++
	return false
}
