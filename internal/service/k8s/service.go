package k8s

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

func defaults() *service.Version { return &service.Version{Version: "v1.27.4"} }

func init() {
	service.Register(service.Info{
		ID: "k8s", Title: "Kubernetes API server", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: append(event.LoginTypes("k8s",
			event.F("auth", "string", "bearer, basic or x509 (a client certificate)"),
			event.F("subject", "string", "the client certificate's subject"),
			event.F("fingerprint", "string", "the client certificate's SHA-256"),
			event.F("issuer", "string", "the client certificate's issuer"),
		),
			tlsserver.HandshakeType("k8s"),
			event.Type{Name: "k8s.request.received", Severity: event.Low, Summary: "A request to the API server.", Fields: []event.FieldDoc{
				event.F("method", "string", "the HTTP method"),
				event.F("path", "string", "the request path"),
				event.F("query", "string", "the raw query string"),
				event.F("proto", "string", "HTTP/1.1 or HTTP/2.0"),
				event.F("user", "string", "system:anonymous, or the kind of credential presented"),
				event.F("verb", "string", "the authorization verb (get, list, create, ...)"),
				event.F("resource", "string", "the resource (pods, secrets, ...), with its subresource"),
				event.F("namespace", "string", "the namespace"),
				event.F("name", "string", "the object name"),
				event.F("status", "int", "the status answered"),
				event.F("user_agent", "string", "the User-Agent (kubectl/..., python requests, ...)"),
				event.F("body_size", "int", "body bytes sent"),
				event.F("body_preview", "string", "the first 512 bytes of the body"),
				event.F("sha256", "string", "the quarantined body, when there is one"),
			}},
			event.Type{Name: "k8s.pod.create", Severity: event.High, Summary: "A pod creation (refused); the whole body is quarantined. escape marks a host-escape pod.", Fields: []event.FieldDoc{
				event.F("namespace", "string", "the namespace"),
				event.F("name", "string", "metadata.name"),
				event.F("images", "list", "the containers' images"),
				event.F("commands", "list", "the containers' command and args, joined"),
				event.F("privileged", "bool", "a container is privileged"),
				event.F("host_pid", "bool", "hostPID"),
				event.F("host_network", "bool", "hostNetwork"),
				event.F("host_paths", "list", "hostPath volumes"),
				event.F("escape", "bool", "privileged, host namespaces or hostPath volumes"),
				event.F("sha256", "string", "the quarantined body"),
			}},
		),
	})
}
