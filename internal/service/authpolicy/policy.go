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

// New reads the policy from a service's validated settings. With nothing
// configured it accepts root:admin, the original system's default, so a
// decky is never a wall that accepts nobody.
func New(cfg map[string]any) *Policy {
	p := &Policy{creds: map[string]map[string]bool{}, fails: map[string]int{}}
	add := func(u, pw string) {
		if u == "" {
			return
		}
		if p.creds[u] == nil {
			p.creds[u] = map[string]bool{}
		}
		p.creds[u][pw] = true
	}
	switch l := cfg["users"].(type) {
	case []any:
		for _, it := range l {
			if s, ok := it.(string); ok {
				u, pw, _ := strings.Cut(s, ":")
				add(u, pw)
			}
		}
	case []string:
		for _, s := range l {
			u, pw, _ := strings.Cut(s, ":")
			add(u, pw)
		}
	}
	if pw, _ := cfg["password"].(string); pw != "" {
		add("root", pw)
	}
	u, _ := cfg["user"].(string)
	if pw, _ := cfg["user_password"].(string); u != "" && pw != "" {
		add(u, pw)
	}
	switch n := cfg["accept_after"].(type) {
	case int:
		p.anyAfter = n
	case int64:
		p.anyAfter = int(n)
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
