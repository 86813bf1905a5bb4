package docker

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
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
