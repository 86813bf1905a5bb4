package docker

import (
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/decnet/decnet/internal/topology"
)

// planSpec is two LANs and three deckies, one of them with a custom
// service.
func planSpec(id string) *topology.Spec {
	return &topology.Spec{ID: id, Name: "p", Seed: "s",
		LANs: []topology.LAN{{Name: "dmz", Subnet: "10.1.0.0/24", DMZ: true}, {Name: "in", Subnet: "10.1.1.0/24"}},
		Deckies: []topology.Decky{
			{Name: "a", Persona: topology.Persona{OS: "linux"}, Addresses: []topology.Address{{LAN: "dmz", IP: "10.1.0.10"}}, Services: []string{"ssh"}},
			{Name: "b", Persona: topology.Persona{OS: "linux"}, Addresses: []topology.Address{{LAN: "dmz", IP: "10.1.0.11"}, {LAN: "in", IP: "10.1.1.11"}}},
			{Name: "c", Persona: topology.Persona{OS: "windows"}, Addresses: []topology.Address{{LAN: "in", IP: "10.1.1.12"}}, Services: []string{"jenkins"}},
		},
		Custom: []topology.CustomService{{Name: "jenkins", Image: "jenkins:lts", Ports: []string{"8080"}}},
	}
}

// engineState is what the engine would have after applying spec: the
// plan's inputs as the engine lists them.
func engineState(d *Driver, spec *topology.Spec) ([]network.Summary, []container.Summary) {
	nets := d.desiredNetworks(spec)
	deckies := d.desiredDeckies(spec, "img", nets)
	var ns []network.Summary
	for _, l := range spec.LANs {
		n := nets[l.Name]
		ns = append(ns, network.Summary{ID: "net-" + l.Name, Name: n.name, Labels: n.opts.Labels})
	}
	var cs []container.Summary
	for _, dk := range spec.Deckies {
		want := deckies[dk.Name]
		labels := d.labels(spec.ID, "decky")
		labels[LabelDecky], labels[LabelConfig] = dk.Name, want.config
		attached := map[string]*network.EndpointSettings{}
		for _, a := range dk.Addresses {
			attached[nets[a.LAN].name] = &network.EndpointSettings{IPAddress: a.IP}
		}
		cs = append(cs, container.Summary{ID: "ctr-" + dk.Name, Names: []string{"/" + want.container}, Labels: labels, State: "running",
			NetworkSettings: &container.NetworkSettingsSummary{Networks: attached}})
		for _, svc := range dk.Services {
			if spec.CustomService(svc) == nil {
				continue
			}
			sl := d.labels(spec.ID, "service")
			sl[LabelDecky], sl[LabelService], sl[LabelConfig] = dk.Name, svc, customConfig(want, svc, spec)
			cs = append(cs, container.Summary{ID: "svc-" + dk.Name + "-" + svc, Labels: sl, State: "running"})
		}
	}
	return ns, cs
}

func ids[T any](xs []T, id func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}

func TestPlanApply(t *testing.T) {
	d, err := New(Options{AgentID: "agent-1", SpoolDir: "/spool", Binary: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	base := planSpec("t1")
	haveNets, haveCtrs := engineState(d, base)
	ctrID := func(c container.Summary) string { return c.ID }
	netID := func(n network.Summary) string { return n.ID }
	deckyName := func(dk *desiredDecky) string { return dk.name }
	lanName := func(n *desiredNet) string { return n.lan.Name }

	cases := []struct {
		name                      string
		spec                      *topology.Spec
		nets                      []network.Summary
		ctrs                      []container.Summary
		removeCtrs, removeNets    []string
		createNets, createDeckies []string
		startDeckies              []string
	}{
		{name: "nothing yet: create all", spec: base,
			createNets: []string{"dmz", "in"}, createDeckies: []string{"a", "b", "c"}},
		{name: "what runs: an empty plan", spec: base, nets: haveNets, ctrs: haveCtrs},
		{name: "a stopped decky is started, not replaced", spec: base, nets: haveNets, ctrs: func() []container.Summary {
			cs := slices.Clone(haveCtrs)
			cs[0].State = "exited"
			return cs
		}(), startDeckies: []string{"ctr-a"}},
		{name: "a decky left half built (not on all its LANs) is replaced", spec: base, nets: haveNets, ctrs: func() []container.Summary {
			cs := slices.Clone(haveCtrs)
			for i := range cs {
				if cs[i].ID == "ctr-b" {
					cs[i].State = "created"
					cs[i].NetworkSettings = &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{
						d.desiredNetworks(base)["dmz"].name: {}}}
				}
			}
			return cs
		}(), removeCtrs: []string{"ctr-b"}, createDeckies: []string{"b"}},
		{name: "a decky whose services changed is replaced alone", spec: func() *topology.Spec {
			s := planSpec("t1")
			s.Deckies[0].Services = []string{"http"}
			return s
		}(), nets: haveNets, ctrs: haveCtrs, removeCtrs: []string{"ctr-a"}, createDeckies: []string{"a"}},
		{name: "a replaced decky takes its custom service with it", spec: func() *topology.Spec {
			s := planSpec("t1")
			s.Deckies[2].Persona.Hostname = "ws-07"
			return s
		}(), nets: haveNets, ctrs: haveCtrs, removeCtrs: []string{"ctr-c", "svc-c-jenkins"}, createDeckies: []string{"c"}},
		{name: "a changed LAN replaces its network and the deckies on it", spec: func() *topology.Spec {
			s := planSpec("t1")
			s.LANs[1].Gateway = "10.1.1.254"
			return s
		}(), nets: haveNets, ctrs: haveCtrs, removeNets: []string{"net-in"}, createNets: []string{"in"},
			removeCtrs: []string{"ctr-b", "ctr-c", "svc-c-jenkins"}, createDeckies: []string{"b", "c"}},
		{name: "a removed decky goes", spec: func() *topology.Spec {
			s := planSpec("t1")
			s.Deckies = s.Deckies[:2]
			return s
		}(), nets: haveNets, ctrs: haveCtrs, removeCtrs: []string{"ctr-c", "svc-c-jenkins"}},
		{name: "another topology supersedes everything", spec: planSpec("t2"), nets: haveNets, ctrs: haveCtrs,
			removeCtrs: []string{"ctr-a", "ctr-b", "ctr-c", "svc-c-jenkins"}, removeNets: []string{"net-dmz", "net-in"},
			createNets: []string{"dmz", "in"}, createDeckies: []string{"a", "b", "c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nets := d.desiredNetworks(c.spec)
			p := planApply(c.spec, nets, d.desiredDeckies(c.spec, "img", nets), c.nets, c.ctrs)
			check := func(what string, got, want []string) {
				t.Helper()
				if want == nil {
					want = []string{}
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s: %v, want %v", what, got, want)
				}
			}
			check("remove containers", ids(p.removeContainers, ctrID), c.removeCtrs)
			check("remove networks", ids(p.removeNetworks, netID), c.removeNets)
			check("create networks", ids(p.createNetworks, lanName), c.createNets)
			check("create deckies", ids(p.createDeckies, deckyName), c.createDeckies)
			check("start deckies", ids(p.startDeckies, ctrID), c.startDeckies)
			if empty := len(c.removeCtrs)+len(c.removeNets)+len(c.createNets)+len(c.createDeckies)+len(c.startDeckies) == 0; p.empty() != empty {
				t.Errorf("empty() = %v", p.empty())
			}
		})
	}
}
