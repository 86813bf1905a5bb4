package docker

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// Teardown implements driver.Driver: every container, then every network
// and its host interface, that this agent created.
func (d *Driver) Teardown(ctx context.Context) error {
	ctrs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.ownFilter()})
	if err != nil {
		return fmt.Errorf("driver/docker: list containers: %w", err)
	}
	// Custom services first: they live in their decky's namespace.
	sort.SliceStable(ctrs, func(i, j int) bool {
		return ctrs[i].Labels[LabelRole] == "service" && ctrs[j].Labels[LabelRole] != "service"
	})
	for _, c := range ctrs {
		if err := d.removeContainer(ctx, c.ID); err != nil {
			return err
		}
	}
	nets, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: d.ownFilter()})
	if err != nil {
		return fmt.Errorf("driver/docker: list networks: %w", err)
	}
	for _, n := range nets {
		if err := d.removeNetwork(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// Observe implements driver.Driver: the names of this agent's networks and
// running containers, and its deckies by their labels, read-only.
func (d *Driver) Observe(ctx context.Context) (wire.Observed, error) {
	obs := wire.Observed{Bridges: []string{}, Containers: []string{}, Deckies: []wire.ObservedDecky{}}
	nets, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: d.ownFilter()})
	if err != nil {
		return obs, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range nets {
		obs.Bridges = append(obs.Bridges, n.Name)
	}
	ctrs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.ownFilter()})
	if err != nil {
		return obs, fmt.Errorf("list containers: %w", err)
	}
	cloaks := cloakStates(ctrs)
	for _, c := range ctrs {
		running := c.State == "running"
		if running {
			obs.Containers = append(obs.Containers, strings.TrimPrefix(firstName(c.Names), "/"))
		}
		if c.Labels[LabelRole] == "decky" {
			obs.Deckies = append(obs.Deckies, wire.ObservedDecky{Topology: c.Labels[LabelTopology], Name: c.Labels[LabelDecky],
				Running: running, State: c.State, Cloak: cloaks[c.Labels[LabelTopology]+"/"+c.Labels[LabelDecky]]})
		}
	}
	sort.Strings(obs.Bridges)
	sort.Strings(obs.Containers)
	sort.Slice(obs.Deckies, func(i, j int) bool { return obs.Deckies[i].Name < obs.Deckies[j].Name })
	return obs, nil
}

// cloakStates maps "topology/decky" to the state of the decky's cloak
// container.
func cloakStates(ctrs []container.Summary) map[string]string {
	m := map[string]string{}
	for _, c := range ctrs {
		if c.Labels[LabelService] == CloakService {
			m[c.Labels[LabelTopology]+"/"+c.Labels[LabelDecky]] = c.State
		}
	}
	return m
}

// Status implements driver.Driver, read-only.
func (d *Driver) Status(ctx context.Context) ([]driver.DeckyStatus, error) {
	nets, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: d.ownFilter()})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	lanOf := map[string]string{}
	for _, n := range nets {
		lanOf[n.Name] = n.Labels[LabelLAN]
	}
	ctrs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.ownFilter()})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := []driver.DeckyStatus{}
	cloaks := cloakStates(ctrs)
	for _, c := range ctrs {
		if c.Labels[LabelRole] != "decky" {
			continue
		}
		st := driver.DeckyStatus{Topology: c.Labels[LabelTopology], Name: c.Labels[LabelDecky], Running: c.State == "running", State: c.State,
			Cloak: cloaks[c.Labels[LabelTopology]+"/"+c.Labels[LabelDecky]]}
		if s := c.Labels[LabelServices]; s != "" {
			st.Services = strings.Split(s, ",")
		}
		if c.NetworkSettings != nil {
			for name, ep := range c.NetworkSettings.Networks {
				if lan, ok := lanOf[name]; ok && ep != nil {
					ip := ep.IPAddress
					if ip == "" && ep.IPAMConfig != nil {
						ip = ep.IPAMConfig.IPv4Address
					}
					st.Addresses = append(st.Addresses, topology.Address{LAN: lan, IP: ip})
				}
			}
			sort.Slice(st.Addresses, func(i, j int) bool { return st.Addresses[i].LAN < st.Addresses[j].LAN })
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// EngineSubnets lists the subnets of every network the engine has, DECNET's
// or not, so new LANs can avoid them. Read-only.
func (d *Driver) EngineSubnets(ctx context.Context) ([]netip.Prefix, error) {
	nets, err := d.cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil {
				out = append(out, p)
			}
		}
	}
	return out, nil
}
