package dockerapi

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/service/httpapi"
)

var o = httpapi.O

func (s *Server) version() httpapi.Obj {
	r := s.rel
	k := s.env.Persona.Distro.Kernel
	return o("Platform", o("Name", "Docker Engine - Community"),
		"Components", []any{
			o("Name", "Engine", "Version", r.version, "Details", o("ApiVersion", r.api, "Arch", "amd64", "BuildTime", r.buildTime,
				"Experimental", "false", "GitCommit", r.gitCommit, "GoVersion", r.goVersion, "KernelVersion", k, "MinAPIVersion", minAPI, "Os", "linux")),
			o("Name", "containerd", "Version", r.containerd, "Details", o("GitCommit", r.containerdCommit)),
			o("Name", "runc", "Version", r.runc, "Details", o("GitCommit", r.runcCommit)),
			o("Name", "docker-init", "Version", "0.19.0", "Details", o("GitCommit", "de40ad0")),
		},
		"Version", r.version, "ApiVersion", r.api, "MinAPIVersion", minAPI, "GitCommit", r.gitCommit, "GoVersion", r.goVersion,
		"Os", "linux", "Arch", "amd64", "KernelVersion", k, "BuildTime", r.buildTime)
}

func (s *Server) info() httpapi.Obj {
	s.mu.Lock()
	defer s.mu.Unlock()
	running, stopped := 0, 0
	for _, c := range s.containers {
		if c.running {
			running++
		} else {
			stopped++
		}
	}
	d := s.env.Persona.Distro
	r := s.env.Identity.Rand("docker-info")
	hostname := s.env.Persona.Hostname
	cgroupVer, cgroupDrv := "2", "systemd"
	if d.Slug == "centos7" || strings.HasPrefix(d.Kernel, "3.") || strings.HasPrefix(d.Kernel, "4.") || strings.HasPrefix(d.Kernel, "5.4") {
		cgroupVer, cgroupDrv = "1", "cgroupfs"
	}
	secOpts := []any{"name=apparmor", "name=seccomp,profile=builtin"}
	if cgroupVer == "2" {
		secOpts = append(secOpts, "name=cgroupns")
	}
	return o("ID", s.id, "Containers", len(s.containers), "ContainersRunning", running, "ContainersPaused", 0, "ContainersStopped", stopped,
		"Images", len(s.images), "Driver", "overlay2",
		"DriverStatus", [][]string{{"Backing Filesystem", "extfs"}, {"Supports d_type", "true"}, {"Using metacopy", "false"}, {"Native Overlay Diff", "true"}, {"userxattr", "false"}},
		"Plugins", o("Volume", []string{"local"}, "Network", []string{"bridge", "host", "ipvlan", "macvlan", "null", "overlay"}, "Authorization", nil,
			"Log", []string{"awslogs", "fluentd", "gcplogs", "gelf", "journald", "json-file", "local", "logentries", "splunk", "syslog"}),
		"MemoryLimit", true, "SwapLimit", cgroupVer == "2", "CpuCfsPeriod", true, "CpuCfsQuota", true, "CPUShares", true, "CPUSet", true,
		"PidsLimit", true, "IPv4Forwarding", true, "BridgeNfIptables", true, "BridgeNfIp6tables", true, "Debug", false,
		"NFd", 40+r.IntN(60), "OomKillDisable", cgroupVer == "1", "NGoroutines", 50+r.IntN(40),
		"SystemTime", s.now().Format("2006-01-02T15:04:05.000000000Z07:00"), "LoggingDriver", "json-file", "CgroupDriver", cgroupDrv, "CgroupVersion", cgroupVer,
		"NEventsListener", 0, "KernelVersion", d.Kernel, "OperatingSystem", d.PrettyName, "OSVersion", d.VersionID, "OSType", "linux", "Architecture", "x86_64",
		"IndexServerAddress", "https://index.docker.io/v1/",
		"RegistryConfig", o("AllowNondistributableArtifactsCIDRs", nil, "AllowNondistributableArtifactsHostnames", nil, "InsecureRegistryCIDRs", []string{"127.0.0.0/8"},
			"IndexConfigs", o("docker.io", o("Name", "docker.io", "Mirrors", []string{}, "Secure", true, "Official", true)), "Mirrors", nil),
		"NCPU", s.cpus, "MemTotal", s.mem, "GenericResources", nil, "DockerRootDir", "/var/lib/docker",
		"HttpProxy", "", "HttpsProxy", "", "NoProxy", "", "Name", hostname, "Labels", []string{}, "ExperimentalBuild", false, "ServerVersion", s.rel.version,
		"Runtimes", o("io.containerd.runc.v2", o("path", "runc"), "runc", o("path", "runc")), "DefaultRuntime", "runc",
		"Swarm", o("NodeID", "", "NodeAddr", "", "LocalNodeState", "inactive", "ControlAvailable", false, "Error", "", "RemoteManagers", nil),
		"LiveRestoreEnabled", false, "Isolation", "", "InitBinary", "docker-init",
		"ContainerdCommit", o("ID", s.rel.containerdCommit, "Expected", s.rel.containerdCommit),
		"RuncCommit", o("ID", s.rel.runcCommit, "Expected", s.rel.runcCommit),
		"InitCommit", o("ID", "de40ad0", "Expected", "de40ad0"),
		"SecurityOptions", secOpts,
		"Warnings", []string{"WARNING: API is accessible on http://0.0.0.0:2375 without encryption.\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the 'Docker daemon attack surface' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/"})
}

func (s *Server) imageList() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	ims := append([]*image(nil), s.images...)
	sort.SliceStable(ims, func(i, j int) bool { return ims[i].created.After(ims[j].created) })
	for _, im := range ims {
		e := o("Containers", -1, "Created", im.created.Unix(), "Id", im.id, "Labels", nil, "ParentId", "",
			"RepoDigests", []string{im.digest}, "RepoTags", []string{im.ref()}, "SharedSize", -1, "Size", im.size)
		if apiLess(s.rel.api, "1.44") {
			e = append(e, httpapi.KV{K: "VirtualSize", V: im.size})
		}
		out = append(out, e)
	}
	return out
}

func humanSince(d time.Duration) string {
	switch h := d.Hours(); {
	case d < time.Minute:
		return "Less than a second"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case h < 48:
		return fmt.Sprintf("%d hours", int(h))
	case h < 24*7*2:
		return fmt.Sprintf("%d days", int(h/24))
	case h < 24*30*3:
		return fmt.Sprintf("%d weeks", int(h/24/7))
	case h < 24*365*2:
		return fmt.Sprintf("%d months", int(h/24/30))
	}
	return fmt.Sprintf("%d years", int(d.Hours()/24/365))
}

func (s *Server) command(c *container) string {
	parts := append(append([]string(nil), c.entry...), c.cmd...)
	cmd := strings.Join(parts, " ")
	return cmd
}

func (s *Server) containerList(all bool) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := []any{}
	for i := len(s.containers) - 1; i >= 0; i-- {
		c := s.containers[i]
		if !c.running && !all {
			continue
		}
		ports := []any{}
		for _, p := range c.ports {
			ports = append(ports, o("IP", "0.0.0.0", "PrivatePort", p.priv, "PublicPort", p.pub, "Type", p.proto),
				o("IP", "::", "PrivatePort", p.priv, "PublicPort", p.pub, "Type", p.proto))
		}
		state, status := "created", "Created"
		if c.running {
			state, status = "running", "Up "+humanSince(now.Sub(c.started))
		}
		imageID := ""
		if c.image != nil {
			imageID = c.image.id
		}
		out = append(out, o("Id", c.id, "Names", []string{"/" + c.name}, "Image", c.imageRef, "ImageID", imageID,
			"Command", s.command(c), "Created", c.created.Unix(), "Ports", ports, "Labels", c.labels, "State", state, "Status", status,
			"HostConfig", o("NetworkMode", c.netMode),
			"NetworkSettings", o("Networks", o("bridge", s.endpoint(c))),
			"Mounts", []any{}))
	}
	return out
}

func (s *Server) endpoint(c *container) httpapi.Obj {
	ip, mac, gw, plen := c.ip, c.mac, "172.17.0.1", 16
	if !c.running {
		ip, mac, gw, plen = "", "", "", 0
	}
	e := o("IPAMConfig", nil, "Links", nil, "Aliases", nil)
	if !apiLess(s.rel.api, "1.44") {
		e = append(e, httpapi.KV{K: "MacAddress", V: mac})
		mac = ""
	}
	e = append(e, o("NetworkID", hexID(s.env.Identity, "docker-net/bridge"), "EndpointID", endpointID(c),
		"Gateway", gw, "IPAddress", ip, "IPPrefixLen", plen, "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0)...)
	if apiLess(s.rel.api, "1.44") {
		e = append(e, httpapi.KV{K: "MacAddress", V: mac})
	}
	return append(e, httpapi.KV{K: "DriverOpts", V: nil})
}

func endpointID(c *container) string {
	if !c.running {
		return ""
	}
	return fmt.Sprintf("%x", []byte(c.id[:32]))[:64]
}
