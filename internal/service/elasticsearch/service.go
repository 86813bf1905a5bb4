package elasticsearch

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Settings are the elasticsearch service's settings.
type Settings struct {
	Version     string `json:"version" doc:"Elasticsearch version (7.10.2, 7.17.x, 8.x; default 7.10.2)"`
	ClusterName string `json:"cluster_name" doc:"Cluster name (default: one of a few common names, per decky)"`
}

func defaults() *Settings { return &Settings{} }

func init() {
	service.Register(service.Info{
		ID: "elasticsearch", Title: "Elasticsearch node", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "es_version", Setting: "version"}},
		Events: append(event.LoginTypes("elasticsearch",
			event.F("scheme", "string", "the Authorization scheme (basic, bearer, apikey); security is off, so every request passes"),
		),
			event.Type{Name: "elasticsearch.request.received", Severity: event.Low, Summary: "An HTTP request to the REST API.", Fields: []event.FieldDoc{
				event.F("method", "string", "the HTTP method"),
				event.F("path", "string", "the request path, decoded"),
				event.F("query", "string", "the raw query string"),
				event.F("action", "string", "what the API call is: root, cat, cluster, nodes, search, doc_get, doc_write, doc_delete, index_delete, index_create, unknown, ..."),
				event.F("index", "string", "the index or index pattern named by the path"),
				event.F("status", "int", "the status answered"),
				event.F("user_agent", "string", "the User-Agent header"),
				event.F("body_size", "int", "body bytes the client sent"),
				event.F("body_preview", "string", "the first 512 bytes of the body, as text"),
				event.F("sha256", "string", "the quarantined body, when there is one"),
			}},
			event.Type{Name: "elasticsearch.index.delete", Severity: event.High, Summary: "An index deletion (the ransom-wipe step); the index is gone for everyone after it.", Fields: []event.FieldDoc{
				event.F("index", "string", "the index or pattern deleted"),
				event.F("deleted", "list", "the indices removed"),
			}},
			event.Type{Name: "elasticsearch.document.write", Severity: event.Medium, Summary: "A document written (PUT/POST _doc, _create, _update), kept in memory, its body quarantined.", Fields: []event.FieldDoc{
				event.F("index", "string", "the index"),
				event.F("id", "string", "the document id"),
				event.F("result", "string", "created or updated"),
				event.F("sha256", "string", "the quarantined body"),
				event.F("body_preview", "string", "the first 512 bytes of the body"),
			}},
			event.Type{Name: "elasticsearch.exploit.attempt", Severity: event.Critical, Summary: "A known exploit payload: dynamic-script injection or path traversal.", Fields: []event.FieldDoc{
				event.F("rule", "string", "script_injection, plugin_path_traversal, snapshot_path_traversal or path_traversal"),
				event.F("vulnerability_id", "string", "CVE-2014-3120, CVE-2015-1427, CVE-2015-3337 or CVE-2015-5531"),
				event.F("path", "string", "the request path"),
				event.F("match", "string", "the text that matched"),
				event.F("sha256", "string", "the quarantined body, when there is one"),
			}},
		),
	})
}
