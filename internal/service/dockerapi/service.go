package dockerapi

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

func defaults() *service.Version { return &service.Version{Version: "24.0.5"} }

func init() {
	service.Register(service.Info{
		ID: "docker_api", Title: "Docker Engine API", Ports: service.TCPPorts(Port),
		Aliases: []string{"docker-api"}, Namespace: "docker",
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: []event.Type{
			{Name: "docker.request.received", Severity: event.Low, Summary: "An HTTP request to the Engine API.", Fields: []event.FieldDoc{
				event.F("method", "string", "the HTTP method"),
				event.F("path", "string", "the request path"),
				event.F("api_version", "string", "the /v1.xx prefix, when there is one"),
				event.F("query", "string", "the raw query string"),
				event.F("status", "int", "the status answered"),
				event.F("user_agent", "string", "the User-Agent header (Docker-Client/..., docker-py/...)"),
				event.F("body_size", "int", "body bytes sent"),
				event.F("body_preview", "string", "the first 512 bytes of the body"),
				event.F("sha256", "string", "the quarantined body, when there is one"),
			}},
			{Name: "docker.container.create", Severity: event.High, Summary: "A container created: the full create body is quarantined; escape marks a host-escape configuration.", Fields: []event.FieldDoc{
				event.F("id", "string", "the container id answered"),
				event.F("name", "string", "the name asked for"),
				event.F("image", "string", "the image"),
				event.F("cmd", "list", "Cmd"),
				event.F("entrypoint", "list", "Entrypoint"),
				event.F("env", "list", "Env"),
				event.F("binds", "list", "HostConfig.Binds and bind Mounts sources:targets"),
				event.F("privileged", "bool", "HostConfig.Privileged"),
				event.F("pid_mode", "string", "HostConfig.PidMode"),
				event.F("network_mode", "string", "HostConfig.NetworkMode"),
				event.F("cap_add", "list", "HostConfig.CapAdd"),
				event.F("escape", "bool", "privileged, host namespaces, dangerous capabilities or host paths mounted"),
				event.F("escape_reasons", "list", "which of those"),
				event.F("result", "string", "created or no_such_image"),
				event.F("sha256", "string", "the quarantined create body"),
			}},
			{Name: "docker.container.start", Severity: event.High, Summary: "A container start (it fails with the runtime error; nothing runs).", Fields: []event.FieldDoc{
				event.F("id", "string", "the container"),
				event.F("image", "string", "its image"),
				event.F("cmd", "list", "the command it would run"),
				event.F("status", "int", "the status answered"),
			}},
			{Name: "docker.exec.create", Severity: event.High, Summary: "An exec created in a container (never run).", Fields: []event.FieldDoc{
				event.F("container", "string", "the container"),
				event.F("exec_id", "string", "the exec id answered"),
				event.F("cmd", "list", "the command"),
				event.F("user", "string", "User"),
				event.F("privileged", "bool", "Privileged"),
				event.F("sha256", "string", "the quarantined body"),
			}},
			{Name: "docker.exec.start", Severity: event.High, Summary: "An exec started (it fails with the runtime error).", Fields: []event.FieldDoc{
				event.F("exec_id", "string", "the exec"),
				event.F("container", "string", "its container"),
				event.F("cmd", "list", "the command"),
			}},
			{Name: "docker.image.pull", Severity: event.Medium, Credential: true, Summary: "An image pull (POST /images/create); registry credentials from X-Registry-Auth in the credential.", Fields: []event.FieldDoc{
				event.F("from_image", "string", "fromImage"),
				event.F("tag", "string", "tag"),
				event.F("registry", "string", "the registry the image names"),
			}},
			{Name: "docker.attach.input", Severity: event.High, Summary: "Bytes sent on a hijacked attach or exec stream (stdin).", Fields: []event.FieldDoc{
				event.F("id", "string", "the container or exec"),
				event.F("data", "string", "the bytes as text (capped)"),
				event.F("size", "int", "bytes received"),
			}},
		},
	})
}
