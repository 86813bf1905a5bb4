package dockerapi

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/httpapi"
)

// The decoy's story: runc is gone from the host (a broken upgrade), so
// what already ran keeps running under its shim, and every new task
// fails with the engine's real error for a missing runtime binary.
func (s *Server) runtimeError(taskID string) string {
	msg := `failed to create shim task: OCI runtime create failed: unable to retrieve OCI runtime error (open /run/containerd/io.containerd.runtime.v2.task/moby/` +
		taskID + `/log.json: no such file or directory): exec: "runc": executable file not found in $PATH: unknown`
	if !strings.HasPrefix(s.rel.version, "20.") {
		msg = "failed to create task for container: " + msg
	}
	return msg
}

func (s *Server) execError(cid string) string {
	return `OCI runtime exec failed: unable to retrieve OCI runtime error (open /run/containerd/io.containerd.runtime.v2.task/moby/` + cid +
		`/log.json: no such file or directory): exec: "runc": executable file not found in $PATH: unknown`
}

func (c *container) path() string {
	if len(c.entry) > 0 {
		return c.entry[0]
	}
	if len(c.cmd) > 0 {
		return c.cmd[0]
	}
	return ""
}

func (x *exchange) containerRoute(ref, action string) bool {
	s := x.s
	m := x.req.Method
	s.mu.Lock()
	c := s.findContainer(ref)
	s.mu.Unlock()
	if c == nil {
		switch action {
		case "json", "start", "attach", "wait", "exec", "stop", "kill", "restart", "logs", "", "top":
			return x.errMsg(404, "No such container: "+ref)
		}
		return x.notFound()
	}
	switch {
	case action == "json" && (m == "GET" || m == "HEAD"):
		return x.json(200, s.inspect(c))
	case action == "start" && m == "POST":
		return x.start(c)
	case action == "attach" && m == "POST":
		return x.attach(c)
	case action == "wait" && m == "POST":
		return x.wait(c)
	case action == "exec" && m == "POST":
		return x.execCreate(c)
	case (action == "stop" || action == "kill" || action == "restart") && m == "POST":
		s.mu.Lock()
		running := c.running
		if action != "restart" {
			c.running = false
		}
		s.mu.Unlock()
		if !running && action == "stop" {
			return x.reply(304, nil)
		}
		if !running && action == "kill" {
			return x.errMsg(409, "Cannot kill container: "+ref+": Container "+c.id+" is not running")
		}
		if !running && action == "restart" {
			return x.errMsg(500, "Cannot restart container "+ref+": "+s.runtimeError(c.id))
		}
		return x.reply(204, nil)
	case action == "" && m == "DELETE":
		s.mu.Lock()
		defer s.mu.Unlock()
		q := x.req.Query()
		if c.running && q.Get("force") != "1" && q.Get("force") != "true" {
			return x.errMsg(409, "You cannot remove a running container "+c.id+". Stop the container before attempting removal or force remove")
		}
		s.removeLocked(c)
		return x.reply(204, nil)
	case action == "logs" && m == "GET":
		ct := "application/vnd.docker.raw-stream"
		if !c.tty && !apiLess(x.api, "1.42") {
			ct = "application/vnd.docker.multiplexed-stream"
		}
		return x.reply(200, nil, httpapi.Header{Name: "Content-Type", Value: ct})
	}
	return x.notFound()
}

// removeLocked drops a container; s.mu is held.
func (s *Server) removeLocked(c *container) {
	for i, o := range s.containers {
		if o == c {
			s.containers = append(s.containers[:i], s.containers[i+1:]...)
			break
		}
	}
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}

func (x *exchange) start(c *container) bool {
	s := x.s
	s.mu.Lock()
	running := c.running
	s.mu.Unlock()
	f := map[string]any{"id": c.id, "image": event.Text([]byte(c.imageRef), 512), "cmd": textList(append(append([]string(nil), c.entry...), c.cmd...))}
	if running {
		f["status"] = 304
		x.c.Session.Emit(event.Event{Type: "docker.container.start", Fields: f})
		return x.reply(304, nil)
	}
	// the shim is given a moment to fail, as containerd takes it
	select {
	case <-x.ctx.Done():
		return false
	case <-time.After(300 * time.Millisecond):
	}
	msg := s.runtimeError(c.id)
	status, code := 500, 128
	// the engine's translateContainerdStartErr: an error that names the
	// command and says "executable file not found" is the user's (400, 127)
	if p := strings.ToLower(c.path()); p != "" && strings.Contains(strings.ToLower(msg), p) {
		status, code = 400, 127
	}
	s.mu.Lock()
	c.exitCode, c.errText = code, msg
	if c.autoRemove {
		s.removeLocked(c)
	}
	s.mu.Unlock()
	f["status"] = status
	x.c.Session.Emit(event.Event{Type: "docker.container.start", Fields: f})
	return x.errMsg(status, msg)
}

// hijack answers an attach or exec start by taking over the connection,
// as the engine does, then collects what the client types until it
// leaves or done is closed.
func (x *exchange) hijack(id string, tty bool, done <-chan struct{}, before func()) bool {
	x.hijacked = true
	x.status = 101
	ct := "application/vnd.docker.raw-stream"
	if !tty && !apiLess(x.api, "1.42") {
		ct = "application/vnd.docker.multiplexed-stream"
	}
	upgrade := strings.EqualFold(x.req.Get("Upgrade"), "tcp") || strings.Contains(strings.ToLower(x.req.Get("Connection")), "upgrade")
	var b strings.Builder
	if upgrade {
		b.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: " + ct + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n")
	} else {
		x.status = 200
		b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n")
	}
	for _, h := range x.mwHeaders() {
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := x.c.Write([]byte(b.String())); err != nil {
		return false
	}
	if before != nil {
		before()
	}
	in := make(chan []byte, 16)
	go func() {
		defer close(in)
		buf := make([]byte, 4096)
		for {
			n, err := x.br.Read(buf)
			if n > 0 {
				in <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				return
			}
		}
	}()
	var got []byte
	total := 0
	defer func() {
		if total > 0 {
			x.c.Session.Emit(event.Event{Type: "docker.attach.input", Fields: map[string]any{"id": id, "data": event.Text(got, 64<<10), "size": total}})
		}
	}()
	for {
		select {
		case p, ok := <-in:
			if !ok {
				return false
			}
			total += len(p)
			if len(got) < 64<<10 {
				got = append(got, p[:min(len(p), 64<<10-len(got))]...)
			}
		case <-done:
			return false
		case <-x.ctx.Done():
			return false
		}
	}
}

func (x *exchange) attach(c *container) bool {
	return x.hijack(c.id, c.tty, c.done, nil)
}

func (x *exchange) wait(c *container) bool {
	x.hijacked = true
	x.status = 200
	st, err := httpapi.StartStream(x.c, x.req, 200, append(x.mwHeaders(), httpapi.Header{Name: "Content-Type", Value: "application/json"}), x.s.now())
	if err != nil {
		return false
	}
	closed := make(chan struct{})
	go func() {
		buf := make([]byte, 512)
		for {
			if _, err := x.br.Read(buf); err != nil {
				close(closed)
				return
			}
		}
	}()
	select {
	case <-c.done:
		x.s.mu.Lock()
		code := c.exitCode
		x.s.mu.Unlock()
		_, _ = st.Write(httpapi.GoJSON(o("Error", nil, "StatusCode", code)))
		_ = st.Close()
	case <-closed:
	case <-x.ctx.Done():
	}
	return false
}

type execBody struct {
	User         string
	Privileged   bool
	Tty          bool
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	Cmd          strList
	Env          []string
	WorkingDir   string
}

func (x *exchange) execCreate(c *container) bool {
	var eb execBody
	if err := json.Unmarshal(x.req.Body, &eb); err != nil {
		return x.errMsg(400, "invalid JSON: "+err.Error())
	}
	s := x.s
	s.mu.Lock()
	running := c.running
	var id string
	if running {
		id = newID()
		if len(s.execs) < 2000 {
			s.execs[id] = &execInst{id: id, container: c.id, cmd: eb.Cmd, tty: eb.Tty}
			c.execIDs = append(c.execIDs, id)
		}
	}
	s.mu.Unlock()
	f := map[string]any{"container": c.id, "cmd": textList(eb.Cmd), "user": event.Text([]byte(eb.User), 128), "privileged": eb.Privileged}
	if sha, ok := x.fields["sha256"]; ok {
		f["sha256"] = sha
	}
	if !running {
		x.c.Session.Emit(event.Event{Type: "docker.exec.create", Fields: f})
		return x.errMsg(409, "Container "+c.id+" is not running")
	}
	if len(eb.Cmd) == 0 {
		return x.errMsg(400, "No exec command specified")
	}
	f["exec_id"] = id
	x.c.Session.Emit(event.Event{Type: "docker.exec.create", Fields: f})
	return x.json(201, o("Id", id))
}

func (x *exchange) execRoute(id, action string) bool {
	s := x.s
	s.mu.Lock()
	e := s.execs[id]
	s.mu.Unlock()
	if e == nil {
		return x.errMsg(404, "No such exec instance: "+id)
	}
	switch {
	case action == "start" && x.req.Method == "POST":
		var sb struct{ Detach, Tty bool }
		_ = json.Unmarshal(x.req.Body, &sb)
		x.c.Session.Emit(event.Event{Type: "docker.exec.start", Fields: map[string]any{"exec_id": id, "container": e.container, "cmd": textList(e.cmd)}})
		s.mu.Lock()
		e.ran, e.exitCode = true, 126
		s.mu.Unlock()
		msg := s.execError(e.container) + "\r\n"
		if sb.Detach {
			return x.errMsg(500, strings.TrimSpace(msg))
		}
		done := make(chan struct{})
		return x.hijack(id, e.tty, done, func() {
			if e.tty {
				_, _ = x.c.Write([]byte(msg))
			} else {
				hdr := make([]byte, 8)
				hdr[0] = 1
				binary.BigEndian.PutUint32(hdr[4:], uint32(len(msg)))
				_, _ = x.c.Write(append(hdr, msg...))
			}
			close(done)
		})
	case action == "json" && x.req.Method == "GET":
		s.mu.Lock()
		defer s.mu.Unlock()
		entry, args := "", []string{}
		if len(e.cmd) > 0 {
			entry, args = e.cmd[0], e.cmd[1:]
		}
		return x.json(200, o("ID", e.id, "Running", false, "ExitCode", e.exitCode, "ProcessConfig", o("tty", e.tty, "entrypoint", entry, "arguments", args, "privileged", false),
			"OpenStdin", false, "OpenStderr", true, "OpenStdout", true, "CanRemove", false, "ContainerID", e.container, "DetachKeys", "", "Pid", 0))
	case action == "resize" && x.req.Method == "POST":
		return x.reply(200, nil)
	}
	return x.notFound()
}

func (s *Server) inspect(c *container) httpapi.Obj {
	s.mu.Lock()
	defer s.mu.Unlock()
	status, started, pid := "created", "0001-01-01T00:00:00Z", 0
	if c.running {
		status, started = "running", c.started.UTC().Format(time.RFC3339Nano)
		pid = 1000 + int(c.id[0])*37 + int(c.id[1])
	}
	imageID := ""
	if c.image != nil {
		imageID = c.image.id
	}
	args := []string{}
	all := append(append([]string(nil), c.entry...), c.cmd...)
	path := ""
	if len(all) > 0 {
		path, args = all[0], all[1:]
	}
	binds := any(nil)
	if len(c.binds) > 0 {
		binds = c.binds
	}
	return o("Id", c.id, "Created", c.created.UTC().Format(time.RFC3339Nano), "Path", path, "Args", args,
		"State", o("Status", status, "Running", c.running, "Paused", false, "Restarting", false, "OOMKilled", false, "Dead", false,
			"Pid", pid, "ExitCode", c.exitCode, "Error", c.errText, "StartedAt", started, "FinishedAt", "0001-01-01T00:00:00Z"),
		"Image", imageID, "ResolvConfPath", "/var/lib/docker/containers/"+c.id+"/resolv.conf",
		"HostnamePath", "/var/lib/docker/containers/"+c.id+"/hostname", "HostsPath", "/var/lib/docker/containers/"+c.id+"/hosts",
		"LogPath", "/var/lib/docker/containers/"+c.id+"/"+c.id+"-json.log", "Name", "/"+c.name, "RestartCount", 0,
		"Driver", "overlay2", "Platform", "linux", "MountLabel", "", "ProcessLabel", "", "AppArmorProfile", "docker-default",
		"ExecIDs", nilIfEmpty(c.execIDs),
		"HostConfig", o("Binds", binds, "ContainerIDFile", "", "LogConfig", o("Type", "json-file", "Config", o()),
			"NetworkMode", c.netMode, "PortBindings", o(), "RestartPolicy", o("Name", orNo(c.restart), "MaximumRetryCount", 0),
			"AutoRemove", c.autoRemove, "Privileged", c.priv),
		"GraphDriver", o("Data", o("MergedDir", "/var/lib/docker/overlay2/"+c.id[:32]+"/merged", "UpperDir", "/var/lib/docker/overlay2/"+c.id[:32]+"/diff",
			"WorkDir", "/var/lib/docker/overlay2/"+c.id[:32]+"/work"), "Name", "overlay2"),
		"Mounts", []any{},
		"Config", o("Hostname", c.hostname, "Domainname", "", "User", "", "AttachStdin", false, "AttachStdout", true, "AttachStderr", true,
			"Tty", c.tty, "OpenStdin", false, "StdinOnce", false, "Env", c.env, "Cmd", nilIfEmpty(c.cmd), "Image", c.imageRef, "Volumes", nil,
			"WorkingDir", "", "Entrypoint", nilIfEmpty(c.entry), "OnBuild", nil, "Labels", labelsOrEmpty(c.labels)),
		"NetworkSettings", o("Bridge", "", "SandboxID", "", "HairpinMode", false, "LinkLocalIPv6Address", "", "LinkLocalIPv6PrefixLen", 0,
			"Ports", o(), "SandboxKey", "", "SecondaryIPAddresses", nil, "SecondaryIPv6Addresses", nil, "EndpointID", endpointID(c),
			"Gateway", gwOf(c), "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", ipOf(c), "IPPrefixLen", plenOf(c),
			"IPv6Gateway", "", "MacAddress", macOf(c), "Networks", o("bridge", s.endpoint(c))))
}

func orNo(s string) string {
	if s == "" {
		return "no"
	}
	return s
}

func labelsOrEmpty(l map[string]string) map[string]string {
	if l == nil {
		return map[string]string{}
	}
	return l
}

func ipOf(c *container) string {
	if c.running {
		return c.ip
	}
	return ""
}

func gwOf(c *container) string {
	if c.running {
		return "172.17.0.1"
	}
	return ""
}

func plenOf(c *container) int {
	if c.running {
		return 16
	}
	return 0
}

func macOf(c *container) string {
	if c.running {
		return c.mac
	}
	return ""
}
