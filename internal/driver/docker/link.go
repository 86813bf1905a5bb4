package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
)

// ip runs iproute2. The agent runs as root on its host; these commands
// only ever touch interfaces whose names the driver derived itself.
func ip(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func linkExists(ctx context.Context, name string) bool {
	return exec.CommandContext(ctx, "ip", "link", "show", "dev", name).Run() == nil
}

// ensureLink creates (or keeps) a macvlan/ipvlan interface on parent with
// addr/32 and a /32 route to every decky address.
func ensureLink(ctx context.Context, name, parent, kind string, addr netip.Addr, routes []string) error {
	if !linkExists(ctx, name) {
		args := []string{"link", "add", name, "link", parent, "type", kind, "mode"}
		if kind == "ipvlan" {
			args = append(args, "l2")
		} else {
			args = append(args, "bridge")
		}
		if err := ip(ctx, args...); err != nil {
			return err
		}
	}
	if err := ip(ctx, "addr", "replace", addr.String()+"/32", "dev", name); err != nil {
		return err
	}
	if err := ip(ctx, "link", "set", name, "up"); err != nil {
		return err
	}
	for _, r := range routes {
		if err := ip(ctx, "route", "replace", r+"/32", "dev", name); err != nil {
			return err
		}
	}
	return nil
}

// deleteLink removes an interface; its routes go with it. Missing is fine.
func deleteLink(ctx context.Context, name string) error {
	if !linkExists(ctx, name) {
		return nil
	}
	return ip(ctx, "link", "del", "dev", name)
}

// lateMAC is a MAC the engine could not set on an endpoint: the interface
// holding ip gets mac from inside the decky's namespace.
type lateMAC struct {
	ip, mac string
}

// setMACs gives the interfaces of a running decky the MACs the engine did
// not (a second network on an engine before API 1.44). It enters the
// decky's network namespace with nsenter and uses iproute2, as root.
func (d *Driver) setMACs(ctx context.Context, id string, macs []lateMAC) error {
	info, err := d.cli.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if info.State == nil || info.State.Pid == 0 {
		return errors.New("set MAC: the decky is not running")
	}
	pid := strconv.Itoa(info.State.Pid)
	in := func(args ...string) error { return nsIP(ctx, pid, args...) }
	for _, m := range macs {
		dev, err := ifaceWithAddr(ctx, pid, m.ip)
		if err != nil {
			return err
		}
		// A live change is refused by some drivers; down, set, up then.
		if in("link", "set", "dev", dev, "address", m.mac) != nil {
			for _, args := range [][]string{{"link", "set", "dev", dev, "down"}, {"link", "set", "dev", dev, "address", m.mac}, {"link", "set", "dev", dev, "up"}} {
				if err := in(args...); err != nil {
					return fmt.Errorf("set MAC of %s: %w", dev, err)
				}
			}
		}
	}
	return nil
}

// ifaceWithAddr names the interface of a process's network namespace that
// holds addr.
func ifaceWithAddr(ctx context.Context, pid, addr string) (string, error) {
	out, err := exec.CommandContext(ctx, "nsenter", "-t", pid, "-n", "ip", "-o", "-4", "addr", "show", "to", addr+"/32").Output()
	if err != nil {
		return "", fmt.Errorf("find the interface with %s: %w", addr, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return "", fmt.Errorf("no interface holds %s", addr)
	}
	dev, _, _ := strings.Cut(f[1], "@")
	return dev, nil
}

// nsIP runs iproute2 in the network namespace of process pid.
func nsIP(ctx context.Context, pid string, args ...string) error {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", pid, "-n", "ip"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s in the decky's namespace: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
