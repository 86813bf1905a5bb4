package web

import (
	"fmt"
	"slices"
	"strings"

	"github.com/decnet/decnet/internal/topology"
)

// The network map's geometry, in SVG user units.
const (
	mapPad     = 16.0
	lanW       = 240.0
	lanHead    = 30.0
	lanGap     = 40.0
	rowGap     = 56.0
	deckyH     = 58.0
	deckyGap   = 8.0
	deckyInset = 10.0
)

// NetMap is a topology drawn as an SVG network map: LAN boxes in rows by
// their distance (in bridges) from the DMZ, each decky a node inside its
// home LAN, and a line from every bridge decky to each of its other LANs.
type NetMap struct {
	Width, Height float64
	Title, Desc   string
	State         string // the topology's status, which colours the deckies
	LANs          []mapLAN
	Deckies       []mapDecky
	Links         []mapLink
}

// marks holds the validation issues of one object drawn on the map.
type marks struct {
	Issues []string
	// Severity is the worst: "error", "warning" or "".
	Severity string
}

func (k *marks) add(sev topology.Severity, text string) {
	k.Issues = append(k.Issues, text)
	if sev == topology.Error || k.Severity == "" {
		k.Severity = string(sev)
	}
}

type mapLAN struct {
	marks
	Name, Subnet string
	DMZ          bool
	X, Y, W, H   float64
	Deckies      int
}

type mapDecky struct {
	marks
	Name, Home, IP, Services string
	Others                   []string // the LANs it bridges to, with their IPs
	Bridge                   bool
	// State is "running" or "missing" from the host's last report of its
	// engine, or "" when unknown (the decky takes the topology's colour).
	State      string
	X, Y, W, H float64
}

type mapLink struct {
	Decky, LAN     string
	X1, Y1, X2, Y2 float64
}

// lanLevels gives each LAN its distance from the DMZ over bridge deckies;
// LANs not reachable come last.
func lanLevels(s *topology.Spec) map[string]int {
	adj := map[string][]string{}
	for _, d := range s.Deckies {
		for i := range d.Addresses {
			for j := range d.Addresses {
				if i != j {
					adj[d.Addresses[i].LAN] = append(adj[d.Addresses[i].LAN], d.Addresses[j].LAN)
				}
			}
		}
	}
	level := map[string]int{}
	var queue []string
	for _, l := range s.LANs {
		if l.DMZ {
			level[l.Name] = 0
			queue = append(queue, l.Name)
		}
	}
	if len(queue) == 0 && len(s.LANs) > 0 {
		level[s.LANs[0].Name] = 0
		queue = append(queue, s.LANs[0].Name)
	}
	maxLevel := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range adj[n] {
			if _, ok := level[m]; !ok {
				level[m] = level[n] + 1
				maxLevel = max(maxLevel, level[m])
				queue = append(queue, m)
			}
		}
	}
	for _, l := range s.LANs {
		if _, ok := level[l.Name]; !ok {
			level[l.Name] = maxLevel + 1
		}
	}
	return level
}

// buildMap lays the spec out.
func buildMap(s *topology.Spec) *NetMap {
	m := &NetMap{Title: "Network map of " + s.Name}
	level := lanLevels(s)
	home := map[string][]int{}
	for i := range s.Deckies {
		h := s.Deckies[i].HomeLAN()
		home[h] = append(home[h], i)
	}
	rows := map[int][]int{}
	var levels []int
	for i, l := range s.LANs {
		lv := level[l.Name]
		if _, ok := rows[lv]; !ok {
			levels = append(levels, lv)
		}
		rows[lv] = append(rows[lv], i)
	}
	slices.Sort(levels)
	lanAt := map[string]int{}
	y := mapPad
	for _, lv := range levels {
		x, rowH := mapPad, 0.0
		for _, i := range rows[lv] {
			l := s.LANs[i]
			n := len(home[l.Name])
			h := lanHead + deckyInset + float64(max(n, 1))*(deckyH+deckyGap)
			lanAt[l.Name] = len(m.LANs)
			m.LANs = append(m.LANs, mapLAN{Name: l.Name, Subnet: l.Subnet, DMZ: l.DMZ, X: x, Y: y, W: lanW, H: h, Deckies: n})
			for k, di := range home[l.Name] {
				d := s.Deckies[di]
				md := mapDecky{Name: d.Name, Home: l.Name, Services: strings.Join(d.Services, ", "), Bridge: d.IsBridge(),
					X: x + deckyInset, Y: y + lanHead + float64(k)*(deckyH+deckyGap), W: lanW - 2*deckyInset, H: deckyH}
				if len(d.Addresses) > 0 {
					md.IP = d.Addresses[0].IP
				}
				for _, a := range d.Addresses[min(1, len(d.Addresses)):] {
					md.Others = append(md.Others, fmt.Sprintf("%s (%s)", a.LAN, a.IP))
				}
				m.Deckies = append(m.Deckies, md)
			}
			x += lanW + lanGap
			rowH = max(rowH, h)
		}
		m.Width = max(m.Width, x-lanGap+mapPad)
		y += rowH + rowGap
	}
	m.Height = max(y-rowGap+mapPad, 2*mapPad)
	m.Width = max(m.Width, 2*mapPad)
	// Deckies whose home LAN is not in the spec are left undrawn by the
	// loop above; validation refuses them anyway.
	byName := map[string]*mapDecky{}
	for i := range m.Deckies {
		byName[m.Deckies[i].Name] = &m.Deckies[i]
	}
	for _, d := range s.Deckies {
		md := byName[d.Name]
		if md == nil {
			continue
		}
		for _, a := range d.Addresses[min(1, len(d.Addresses)):] {
			li, ok := lanAt[a.LAN]
			if !ok {
				continue
			}
			l := m.LANs[li]
			x1, y1 := md.X+md.W/2, md.Y+md.H/2
			x2, y2 := l.X+l.W/2, l.Y // the top of a LAN below
			if l.Y+l.H < md.Y {
				y2 = l.Y + l.H // the bottom of a LAN above
			} else if l.Y == m.LANs[lanAt[md.Home]].Y {
				y2 = l.Y + lanHead/2 // the side of a LAN on the same row
				x2 = l.X
				if l.X < md.X {
					x2 = l.X + l.W
				}
			}
			m.Links = append(m.Links, mapLink{Decky: d.Name, LAN: a.LAN, X1: x1, Y1: y1, X2: x2, Y2: y2})
		}
	}
	bridges := 0
	for _, d := range m.Deckies {
		if d.Bridge {
			bridges++
		}
	}
	m.Desc = fmt.Sprintf("%d LANs and %d deckies, %d of them bridges between LANs. The table below lists the same.",
		len(m.LANs), len(m.Deckies), bridges)
	return m
}

// mark puts each issue on the LAN or decky it names (a service's issue on
// its decky). The page lists every issue beside the map, so those of no
// drawn object (the topology, a custom service) are not repeated here.
func (m *NetMap) mark(issues []topology.Issue) {
	for _, is := range issues {
		text := fmt.Sprintf("%s %s: %s", is.Severity, is.Code, is.Message)
		var k *marks
		switch is.Object.Kind {
		case "lan":
			for i := range m.LANs {
				if m.LANs[i].Name == is.Object.Name {
					k = &m.LANs[i].marks
				}
			}
		case "decky", "service":
			name := is.Object.Name
			if is.Object.Kind == "service" {
				name = is.Object.Decky
			}
			for i := range m.Deckies {
				if m.Deckies[i].Name == name {
					k = &m.Deckies[i].marks
				}
			}
		}
		if k != nil {
			k.add(is.Severity, text)
		}
	}
}
