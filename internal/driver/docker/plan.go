package docker

import (
	"slices"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/decnet/decnet/internal/topology"
)

// applyPlan is what an apply does, in the order it does it: remove
// containers, remove networks, create networks, create deckies, start the
// kept deckies that are stopped. Re-applying what runs is an empty plan.
type applyPlan struct {
	removeContainers []container.Summary
	removeNetworks   []network.Summary
	createNetworks   []*desiredNet
	createDeckies    []*desiredDecky
	startDeckies     []container.Summary
	// keep holds the decky containers kept, by decky name; keepNets the
	// network ids kept, by LAN.
	keep     map[string]container.Summary
	keepNets map[string]string
}

// empty reports whether the plan changes nothing.
func (p *applyPlan) empty() bool {
	return len(p.removeContainers)+len(p.removeNetworks)+len(p.createNetworks)+len(p.createDeckies)+len(p.startDeckies) == 0
}

// planApply decides an apply from the spec, what it should look like on
// the engine (nets, deckies) and what the engine has of this agent
// (haveNets, haveCtrs, selected by label). It does no I/O. Anything of
// another topology is a predecessor and goes; an object whose recipe
// changed (its config label) is replaced.
func planApply(spec *topology.Spec, nets map[string]*desiredNet, deckies map[string]*desiredDecky,
	haveNets []network.Summary, haveCtrs []container.Summary) applyPlan {
	p := applyPlan{keep: map[string]container.Summary{}, keepNets: map[string]string{}}
	for _, c := range haveCtrs {
		want, ok := deckies[c.Labels[LabelDecky]]
		switch {
		case c.Labels[LabelTopology] != spec.ID, !ok:
			p.removeContainers = append(p.removeContainers, c)
		case c.Labels[LabelRole] == "service":
			// Custom service and cloak containers follow their decky: kept
			// only when the decky is kept and their own recipe is unchanged.
			recipe := customConfig(want, c.Labels[LabelService], spec)
			if c.Labels[LabelService] == CloakService {
				recipe = cloakConfig(want)
			}
			if c.Labels[LabelConfig] != recipe {
				p.removeContainers = append(p.removeContainers, c)
			}
		case c.Labels[LabelConfig] != want.config, !attached(c, want, nets):
			// A changed recipe, or a decky left half built (an apply that
			// stopped between creating it and joining its networks).
			p.removeContainers = append(p.removeContainers, c)
		default:
			p.keep[want.name] = c
		}
	}
	// A custom container whose decky is replaced must go too.
	for _, c := range haveCtrs {
		if c.Labels[LabelRole] == "service" && c.Labels[LabelTopology] == spec.ID {
			if _, kept := p.keep[c.Labels[LabelDecky]]; !kept && !slices.ContainsFunc(p.removeContainers, func(r container.Summary) bool { return r.ID == c.ID }) {
				p.removeContainers = append(p.removeContainers, c)
			}
		}
	}
	for _, n := range haveNets {
		want, ok := nets[n.Labels[LabelLAN]]
		if n.Labels[LabelTopology] != spec.ID || !ok || n.Labels[LabelConfig] != want.config {
			p.removeNetworks = append(p.removeNetworks, n)
			continue
		}
		p.keepNets[want.lan.Name] = n.ID
	}
	for _, l := range spec.LANs {
		if _, ok := p.keepNets[l.Name]; !ok {
			p.createNetworks = append(p.createNetworks, nets[l.Name])
		}
	}
	for _, dk := range spec.Deckies {
		c, ok := p.keep[dk.Name]
		if !ok {
			p.createDeckies = append(p.createDeckies, deckies[dk.Name])
		} else if c.State != "running" {
			p.startDeckies = append(p.startDeckies, c)
		}
	}

	return p
}

// attached reports whether a decky container is on the network of each of
// its LANs. The engine lists the networks of a container it has not
// started yet too.
func attached(c container.Summary, want *desiredDecky, nets map[string]*desiredNet) bool {
	if c.NetworkSettings == nil {
		return false
	}
	for _, a := range want.decky.Addresses {
		if _, ok := c.NetworkSettings.Networks[nets[a.LAN].name]; !ok {
			return false
		}
	}
	return true
}
