package docker

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/versions"
	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/cloak"
	"github.com/decnet/decnet/internal/decky"
	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/topology"
)

// Decky container limits. One Go process serves every service of a decky,
// so these are generous for it and tight for anything an attacker could
// make it do.
const (
	deckyMemory = 256 << 20
	cloakMemory = 64 << 20
	deckyPids   = 256
	// applyWorkers is how many container operations an apply keeps in
	// flight: the engine does much of each (namespaces, veths, iptables)
	// outside its locks, so more than the cores it has pays.
	applyWorkers   = 16
	specEnv        = "DECNET_DECKY_SPEC"
	spoolMount     = "/var/lib/decnet/spool"
	driverRevision = "3" // bump when the container recipe changes, to replace every decky
)

// desiredNet is what one LAN should look like on the engine.
type desiredNet struct {
	lan    topology.LAN
	name   string
	config string
	opts   network.CreateOptions
	shim   string
}

func (d *Driver) desiredNetworks(spec *topology.Spec) map[string]*desiredNet {
	out := map[string]*desiredNet{}
	for _, l := range spec.LANs {
		gw, _ := l.GatewayAddr()
		dn := &desiredNet{lan: l, name: networkName(d.opts.AgentID, spec.ID, l.Name)}
		dn.opts = network.CreateOptions{
			Driver: "bridge",
			IPAM:   &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: l.Subnet, Gateway: gw.String()}}},
			Labels: d.labels(spec.ID, "network"),
		}
		dn.opts.Labels[LabelLAN] = l.Name
		switch l.Driver {
		case topology.Macvlan:
			dn.opts.Driver = "macvlan"
			dn.opts.Options = map[string]string{"parent": l.Parent, "macvlan_mode": "bridge"}
			dn.shim = shimIface(d.opts.AgentID, spec.ID, l.Name)
		case topology.IPvlan:
			dn.opts.Driver = "ipvlan"
			dn.opts.Options = map[string]string{"parent": l.Parent, "ipvlan_mode": "l2"}
			dn.shim = shimIface(d.opts.AgentID, spec.ID, l.Name)
		default:
			// Only the DMZ reaches beyond the host; inner LANs are internal,
			// so a decky there has no egress at all.
			dn.opts.Internal = !l.DMZ
			dn.opts.Options = map[string]string{
				"com.docker.network.bridge.name":                 bridgeIface(d.opts.AgentID, spec.ID, l.Name),
				"com.docker.network.bridge.enable_ip_masquerade": "false",
			}
		}
		if dn.shim != "" {
			dn.opts.Labels[LabelShim] = dn.shim
		}
		dn.config = configHash(driverRevision, dn.name, dn.opts.Driver, dn.opts.Internal, dn.opts.Options, l.Subnet, gw.String())
		dn.opts.Labels[LabelConfig] = dn.config
		out[l.Name] = dn
	}
	return out
}

// desiredDecky is what one decky should look like on the engine.
type desiredDecky struct {
	name      string
	container string
	config    string
	view      *topology.Spec
	decky     topology.Decky
}

func (d *Driver) desiredDeckies(spec *topology.Spec, image string, nets map[string]*desiredNet) map[string]*desiredDecky {
	out := map[string]*desiredDecky{}
	for _, dk := range spec.Deckies {
		// The recipe leaves the live controls out: they are applied to the
		// running decky through its live file, never by replacing it.
		view := spec.ForDecky(dk.Name).WithoutLive()
		var netConfigs []string
		for _, a := range dk.Addresses {
			netConfigs = append(netConfigs, nets[a.LAN].config)
		}
		out[dk.Name] = &desiredDecky{
			name: dk.Name, container: containerName(d.opts.AgentID, spec.ID, dk.Name), view: view, decky: dk,
			config: configHash(driverRevision, image, view.Canonical(), netConfigs, d.opts.SpoolDir),
		}
	}
	return out
}

func configHash(parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Apply implements driver.Driver.
func (d *Driver) Apply(ctx context.Context, spec *topology.Spec, progress driver.ProgressFunc) error {
	if spec.ID == "" {
		return errors.New("driver/docker: apply: topology has no id")
	}
	d.cli.NegotiateAPIVersion(ctx)
	image, err := d.deckyImage(ctx)
	if err != nil {
		return fmt.Errorf("driver/docker: %w", err)
	}
	for _, c := range spec.Custom {
		if _, err := d.cli.ImageInspect(ctx, c.Image); err != nil {
			return fmt.Errorf("driver/docker: custom service %s: image %s is not on this host (no registry is used: build or load it first): %w", c.Name, c.Image, err)
		}
	}
	nets := d.desiredNetworks(spec)
	deckies := d.desiredDeckies(spec, image, nets)

	haveNets, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: d.ownFilter()})
	if err != nil {
		return fmt.Errorf("driver/docker: list networks: %w", err)
	}
	haveCtrs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.ownFilter()})
	if err != nil {
		return fmt.Errorf("driver/docker: list containers: %w", err)
	}

	p := planApply(spec, nets, deckies, haveNets, haveCtrs)
	total := len(p.removeContainers) + len(p.removeNetworks) + len(p.createNetworks) + len(p.createDeckies) + len(p.startDeckies)
	done := 0
	step := func(action, object string) {
		done++
		progress.Report(driver.Progress{Action: action, Object: object, Done: done, Total: total})
	}
	d.log.Info("apply plan", "topology_id", spec.ID, "remove_containers", len(p.removeContainers), "remove_networks", len(p.removeNetworks),
		"create_networks", len(p.createNetworks), "create_deckies", len(p.createDeckies), "start_deckies", len(p.startDeckies),
		"keep", len(p.keep)-len(p.startDeckies))

	var mu sync.Mutex
	rg, rctx := errgroup.WithContext(ctx)
	rg.SetLimit(applyWorkers)
	for _, c := range p.removeContainers {
		rg.Go(func() error {
			if err := d.removeContainer(rctx, c.ID); err != nil {
				return err
			}
			mu.Lock()
			step("remove", "container "+strings.TrimPrefix(firstName(c.Names), "/"))
			mu.Unlock()
			return nil
		})
	}
	if err := rg.Wait(); err != nil {
		return err
	}
	for _, n := range p.removeNetworks {
		if err := d.removeNetwork(ctx, n); err != nil {
			return err
		}
		step("remove", "network "+n.Name)
	}
	for _, n := range p.createNetworks {
		if _, err := d.cli.NetworkCreate(ctx, n.name, n.opts); err != nil {
			return fmt.Errorf("driver/docker: create network %s for LAN %s: %w", n.name, n.lan.Name, err)
		}
		step("create", "lan "+n.lan.Name)
	}
	if err := d.ensureShims(ctx, spec, nets); err != nil {
		return err
	}
	for _, dk := range spec.Deckies {
		if err := d.writeLive(spec.ID, &dk); err != nil {
			return err
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(applyWorkers)
	for _, dk := range p.createDeckies {
		g.Go(func() error {
			if err := d.createDecky(gctx, spec, image, dk, nets); err != nil {
				return err
			}
			mu.Lock()
			step("create", "decky "+dk.name)
			mu.Unlock()
			return nil
		})
	}
	for _, c := range p.startDeckies {
		g.Go(func() error {
			name := c.Labels[LabelDecky]
			if err := d.cli.ContainerStart(gctx, c.ID, container.StartOptions{}); err != nil {
				return fmt.Errorf("driver/docker: start decky %s: %w", name, err)
			}
			if late := d.lateMACs(spec, deckies[name], nets); len(late) > 0 {
				if err := d.setMACs(gctx, c.ID, late); err != nil {
					return fmt.Errorf("driver/docker: decky %s: %w", name, err)
				}
			}
			mu.Lock()
			step("start", "decky "+c.Labels[LabelDecky])
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

func firstName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

func (d *Driver) removeContainer(ctx context.Context, id string) error {
	err := d.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("driver/docker: remove container %s: %w", id, err)
	}
	return nil
}

func (d *Driver) removeNetwork(ctx context.Context, n network.Summary) error {
	if shim := n.Labels[LabelShim]; shim != "" {
		if err := deleteLink(ctx, shim); err != nil {
			return fmt.Errorf("driver/docker: remove host interface %s: %w", shim, err)
		}
	}
	err := d.cli.NetworkRemove(ctx, n.ID)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("driver/docker: remove network %s: %w", n.Name, err)
	}
	return nil
}

// sysctls returns the kernel settings of a decky's network namespace: the
// persona's TCP/IP stack, unprivileged low ports (the decky runs as a
// normal user and needs no capability to bind 22 or 80), and forwarding
// for deckies that route between LANs.
func sysctls(dk topology.Decky) map[string]string {
	s := persona.Family(dk.Persona.OS).SysctlMap()
	if s == nil {
		s = map[string]string{}
	}
	s["net.ipv4.ip_unprivileged_port_start"] = "0"
	// Set both ways: a new namespace may inherit forwarding from the host.
	s["net.ipv4.ip_forward"] = "0"
	if dk.ForwardsL3 {
		s["net.ipv4.ip_forward"] = "1"
	}
	return s
}

func (d *Driver) createDecky(ctx context.Context, spec *topology.Spec, image string, dk *desiredDecky, nets map[string]*desiredNet) error {
	blob, err := json.Marshal(dk.view)
	if err != nil {
		return fmt.Errorf("driver/docker: encode decky %s: %w", dk.name, err)
	}
	id := persona.NewIdentity(spec.Seed, dk.name)
	hostname := dk.decky.Persona.Hostname
	if hostname == "" {
		p := dk.decky.Persona
		hostname = id.Hostname(persona.DistroFor(p.Distro, persona.Family(p.OS), p.Archetype, id).HostnameStyle)
	}
	labels := d.labels(spec.ID, "decky")
	labels[LabelDecky] = dk.name
	labels[LabelConfig] = dk.config
	labels[LabelServices] = strings.Join(dk.decky.Services, ",")

	cfg := &container.Config{
		Image:    image,
		Hostname: hostname,
		Cmd:      []string{"decky", "run", "--spec-env", specEnv, "--decky", dk.name, "--spool", spoolMount},
		Env:      []string{specEnv + "=" + base64.StdEncoding.EncodeToString(blob)},
		Labels:   labels,
		User:     fmt.Sprintf("%d:%d", DeckyUID, DeckyUID),
	}
	pids := int64(deckyPids)
	host := &container.HostConfig{
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		CapAdd:         []string{"NET_BIND_SERVICE"},
		SecurityOpt:    []string{"no-new-privileges:true"},
		Resources:      container.Resources{Memory: deckyMemory, PidsLimit: &pids},
		// on-failure restarts a crashed decky but, unlike always or
		// unless-stopped, does not bring a topology back when the engine
		// restarts: only the master decides what runs.
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 5},
		Sysctls:       sysctls(dk.decky),
		Tmpfs:         map[string]string{"/tmp": "rw,noexec,nosuid,nodev,size=16m"},
		LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "3"}},
	}
	dir, err := d.spoolDir(spec.ID, dk.name)
	if err != nil {
		return err
	}
	host.Binds = []string{dir + ":" + spoolMount + ":rw"}
	// Every network endpoint gets the persona's vendor MAC. Engines from
	// API 1.44 take it per endpoint, on every network; older ones only in
	// the container-wide field and only for the network the container is
	// created in (its NetworkMode), so the others are set inside the
	// decky's namespace once it runs.
	perEndpoint := !versions.LessThan(d.cli.ClientVersion(), "1.44")
	fam := persona.Family(dk.decky.Persona.OS)
	home := dk.decky.Addresses[0]
	homeNet := nets[home.LAN]
	host.NetworkMode = container.NetworkMode(homeNet.name)
	endpoint := &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: home.IP}}
	switch {
	case homeNet.lan.Driver == topology.IPvlan:
		// ipvlan interfaces carry their parent's MAC; the engine refuses
		// another.
	case perEndpoint:
		endpoint.MacAddress = id.MACFor(fam, 0)
	default:
		//lint:ignore SA1019 engines older than API 1.44 only take the container-wide field
		cfg.MacAddress = id.MACFor(fam, 0)
	}
	netCfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{homeNet.name: endpoint}}
	resp, err := d.cli.ContainerCreate(ctx, cfg, host, netCfg, nil, dk.container)
	if err != nil {
		return fmt.Errorf("driver/docker: create decky %s: %w", dk.name, err)
	}
	for i, a := range dk.decky.Addresses[1:] {
		ep := &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: a.IP}}
		if perEndpoint && nets[a.LAN].lan.Driver != topology.IPvlan {
			ep.MacAddress = id.MACFor(fam, i+1)
		}
		if err := d.cli.NetworkConnect(ctx, nets[a.LAN].name, resp.ID, ep); err != nil {
			return fmt.Errorf("driver/docker: attach decky %s to LAN %s: %w", dk.name, a.LAN, err)
		}
	}
	if err := d.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("driver/docker: start decky %s: %w", dk.name, err)
	}
	if late := d.lateMACs(spec, dk, nets); len(late) > 0 {
		if err := d.setMACs(ctx, resp.ID, late); err != nil {
			return fmt.Errorf("driver/docker: decky %s: %w", dk.name, err)
		}
	}
	for _, c := range spec.Custom {
		if slices.Contains(dk.decky.Services, c.Name) {
			if err := d.createCustom(ctx, spec, dk, c, resp.ID); err != nil {
				return err
			}
		}
	}
	if cloakConfig(dk) != "" {
		return d.createCloak(ctx, spec, dk, image, resp.ID)
	}
	return nil
}

// cloakConfig is the recipe of a decky's packet cloak container, or ""
// when its OS family needs none (Linux).
func cloakConfig(dk *desiredDecky) string {
	if dk == nil {
		return ""
	}
	if _, ok := cloak.Lookup(persona.Family(dk.decky.Persona.OS)); !ok {
		return ""
	}
	return configHash(driverRevision, dk.config, CloakService, dk.decky.Persona.OS)
}

// createCloak runs the packet cloak of the decky's OS family in a
// companion container in the decky's network namespace: the decky itself
// keeps no capability, the cloak has only NET_ADMIN and NET_RAW there (its
// rules and queue, its raw socket). Docker restarts it if it fails; while
// it is down the queue fails open and the decky answers as plain Linux.
func (d *Driver) createCloak(ctx context.Context, spec *topology.Spec, dk *desiredDecky, image, deckyID string) error {
	labels := d.labels(spec.ID, "service")
	labels[LabelDecky] = dk.name
	labels[LabelService] = CloakService
	labels[LabelConfig] = cloakConfig(dk)
	pids := int64(deckyPids)
	cfg := &container.Config{Image: image, Labels: labels, User: "0:0",
		Cmd: []string{"decky", "cloak", "--family", dk.decky.Persona.OS}}
	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode("container:" + deckyID),
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		CapAdd:         []string{"NET_ADMIN", "NET_RAW"},
		SecurityOpt:    []string{"no-new-privileges:true"},
		Resources:      container.Resources{Memory: cloakMemory, PidsLimit: &pids},
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 5},
		LogConfig:      container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "3"}},
	}
	resp, err := d.cli.ContainerCreate(ctx, cfg, host, nil, nil, dk.container+"-cloak")
	if err != nil {
		return fmt.Errorf("driver/docker: create the cloak of decky %s: %w", dk.name, err)
	}
	if err := d.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("driver/docker: start the cloak of decky %s: %w", dk.name, err)
	}
	return nil
}

// lateMACs lists the MACs of a decky's second and further networks that
// the engine cannot set (API before 1.44): setMACs sets them once the decky
// runs. An ipvlan interface has its parent's MAC by design and is left so.
func (d *Driver) lateMACs(spec *topology.Spec, dk *desiredDecky, nets map[string]*desiredNet) []lateMAC {
	if dk == nil || !versions.LessThan(d.cli.ClientVersion(), "1.44") {
		return nil
	}
	id := persona.NewIdentity(spec.Seed, dk.name)
	var out []lateMAC
	for i, a := range dk.decky.Addresses[1:] {
		if nets[a.LAN].lan.Driver != topology.IPvlan {
			out = append(out, lateMAC{ip: a.IP, mac: id.MACFor(persona.Family(dk.decky.Persona.OS), i+1)})
		}
	}
	return out
}

func customConfig(dk *desiredDecky, name string, spec *topology.Spec) string {
	c := spec.CustomService(name)
	if c == nil || !slices.Contains(dk.decky.Services, name) {
		return ""
	}
	return configHash(driverRevision, dk.config, *c)
}

// createCustom runs a bring-your-own service image in the decky's network
// namespace, with the same confinement as the decky.
func (d *Driver) createCustom(ctx context.Context, spec *topology.Spec, dk *desiredDecky, c topology.CustomService, deckyID string) error {
	labels := d.labels(spec.ID, "service")
	labels[LabelDecky] = dk.name
	labels[LabelService] = c.Name
	labels[LabelConfig] = customConfig(dk, c.Name, spec)
	pids := int64(deckyPids)
	cfg := &container.Config{Image: c.Image, Cmd: c.Exec, Labels: labels}
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode("container:" + deckyID),
		CapDrop:       []string{"ALL"},
		CapAdd:        []string{"NET_BIND_SERVICE"},
		SecurityOpt:   []string{"no-new-privileges:true"},
		Resources:     container.Resources{Memory: deckyMemory, PidsLimit: &pids},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 5},
	}
	name := dk.container + "-" + c.Name
	resp, err := d.cli.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		return fmt.Errorf("driver/docker: create custom service %s of decky %s: %w", c.Name, dk.name, err)
	}
	if err := d.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("driver/docker: start custom service %s of decky %s: %w", c.Name, dk.name, err)
	}
	return nil
}

// shimAddr picks the host-side address of a macvlan/ipvlan LAN: the
// highest host address no decky and no gateway uses. It is the host's
// own address on that LAN, never the host's real IP (the original reused
// it, putting one IP behind two MACs).
func shimAddr(spec *topology.Spec, l topology.LAN) (netip.Addr, error) {
	p, err := netip.ParsePrefix(l.Subnet)
	if err != nil {
		return netip.Addr{}, err
	}
	used := map[netip.Addr]bool{}
	if gw, ok := l.GatewayAddr(); ok {
		used[gw] = true
	}
	for _, dk := range spec.Deckies {
		for _, a := range dk.Addresses {
			if a.LAN == l.Name {
				if ip, err := netip.ParseAddr(a.IP); err == nil {
					used[ip] = true
				}
			}
		}
	}
	last := p.Masked().Addr()
	for ip := p.Masked().Addr(); p.Contains(ip); ip = ip.Next() {
		last = ip
	}
	for ip := last.Prev(); p.Contains(ip) && ip != p.Masked().Addr(); ip = ip.Prev() {
		if !used[ip] {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free address left for the host interface in %s", p)
}

// ensureShims makes the host-side interface of every macvlan/ipvlan LAN,
// so the host (and the agent's checks) can reach deckies its own NIC
// cannot talk to, with a /32 route per decky and nothing wider.
func (d *Driver) ensureShims(ctx context.Context, spec *topology.Spec, nets map[string]*desiredNet) error {
	for _, l := range spec.LANs {
		n := nets[l.Name]
		if n.shim == "" {
			continue
		}
		addr, err := shimAddr(spec, l)
		if err != nil {
			return fmt.Errorf("driver/docker: LAN %s: %w", l.Name, err)
		}
		var routes []string
		for _, dk := range spec.Deckies {
			for _, a := range dk.Addresses {
				if a.LAN == l.Name {
					routes = append(routes, a.IP)
				}
			}
		}
		if err := ensureLink(ctx, n.shim, l.Parent, n.opts.Driver, addr, routes); err != nil {
			return fmt.Errorf("driver/docker: host interface for LAN %s: %w", l.Name, err)
		}
	}
	return nil
}

// spoolDir makes the decky's spool directory on the host, its own to write.
func (d *Driver) spoolDir(topologyID, name string) (string, error) {
	dir := filepath.Join(d.opts.SpoolDir, topologyID, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("driver/docker: spool dir for %s: %w", name, err)
	}
	// The decky runs unprivileged; its spool must be its own to write.
	if err := os.Chown(dir, DeckyUID, DeckyUID); err != nil {
		return "", fmt.Errorf("driver/docker: spool dir for %s: %w (the agent must run as root)", name, err)
	}
	return dir, nil
}

// writeLive hands a decky its live controls (tarpits, dropped files)
// through the live file in its spool directory, which the running decky
// watches: created or kept, it never restarts for them.
func (d *Driver) writeLive(topologyID string, dk *topology.Decky) error {
	dir, err := d.spoolDir(topologyID, dk.Name)
	if err != nil {
		return err
	}
	if err := decky.WriteLive(filepath.Join(dir, decky.LiveFileName), dk.Live); err != nil {
		return fmt.Errorf("driver/docker: live controls of %s: %w", dk.Name, err)
	}
	return nil
}
