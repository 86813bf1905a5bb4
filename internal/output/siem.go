package output

import (
	"strings"

	"github.com/decnet/decnet/internal/event"
)

// Class is how a SIEM schema files an event type: the ECS categorization
// fields and the OCSF class. It depends only on the type's object and
// action (<namespace>.<object>.<action>), so every service's types are
// filed alike; docs/siem.md lists it for every declared type.
type Class struct {
	ECSCategory []string `json:"ecs_category"`
	ECSType     []string `json:"ecs_type"`
	OCSFClass   int      `json:"ocsf_class_uid"`
	OCSFName    string   `json:"ocsf_class_name"`
}

var (
	authClass    = Class{[]string{"authentication"}, []string{"start"}, 3002, "Authentication"}
	sessionStart = Class{[]string{"network", "session"}, []string{"connection", "start"}, 4001, "Network Activity"}
	sessionEnd   = Class{[]string{"network", "session"}, []string{"connection", "end"}, 4001, "Network Activity"}
	denied       = Class{[]string{"network"}, []string{"connection", "denied"}, 4001, "Network Activity"}
	netInfo      = Class{[]string{"network"}, []string{"protocol", "info"}, 4001, "Network Activity"}
	processStart = Class{[]string{"process"}, []string{"start"}, 1007, "Process Activity"}
	fileCreate   = Class{[]string{"file"}, []string{"creation"}, 1001, "File System Activity"}
	fileAccess   = Class{[]string{"file"}, []string{"access"}, 1001, "File System Activity"}
	fileChange   = Class{[]string{"file"}, []string{"change"}, 1001, "File System Activity"}
	fileDelete   = Class{[]string{"file"}, []string{"deletion"}, 1001, "File System Activity"}
	webAccess    = Class{[]string{"web", "network"}, []string{"access"}, 4002, "HTTP Activity"}
	intrusion    = Class{[]string{"intrusion_detection", "network"}, []string{"info", "indicator"}, 2004, "Detection Finding"}
	dbQuery      = Class{[]string{"database", "network"}, []string{"access"}, 6005, "Datastore Activity"}
	dnsQuery     = Class{[]string{"network"}, []string{"protocol", "info"}, 4003, "DNS Activity"}
	emailClass   = Class{[]string{"email", "network"}, []string{"info"}, 4009, "Email Activity"}
	configChange = Class{[]string{"configuration"}, []string{"change"}, 6002, "Application Lifecycle"}
	lifecycle    = Class{[]string{"process"}, []string{"info"}, 6002, "Application Lifecycle"}
)

// classes files each object.action; anything else is network protocol
// information.
var classes = map[string]Class{
	"login.failed": authClass, "login.success": authClass, "ntlm.challenge": authClass, "honey.sent": authClass,
	"session.open": sessionStart, "session.close": sessionEnd, "session.rejected": denied, "rate.limited": denied,
	"source.locked": denied, "rcpt.refused": denied,
	"command.input": processStart, "exec.create": processStart, "exec.start": processStart, "attach.input": processStart,
	"container.create": processStart, "container.start": processStart, "pod.create": processStart, "query.input": processStart,
	"input.keys": processStart, "clipboard.paste": processStart,
	"file.upload": fileCreate, "data.drop": fileCreate, "data.write": fileCreate, "document.write": fileCreate,
	"image.pull": fileCreate, "write.attempt": fileChange, "file.rename": fileChange, "file.delete": fileDelete,
	"index.delete": fileDelete, "file.download": fileAccess, "file.fetch": fileAccess, "file.open": fileAccess,
	"directory.list": fileAccess, "tree.connect": fileAccess, "block.transfer": fileAccess, "file.suppressed": fileAccess,
	"request.received": webAccess, "request.unknown": webAccess, "request.read": webAccess, "request.set": configChange,
	"exploit.attempt": intrusion, "scan.detected": intrusion, "poison.detected": intrusion, "version.probe": intrusion,
	"engine.discovery": intrusion, "zone.transfer": intrusion, "call.attempt": intrusion,
	"query.received": dbQuery, "search.request": dbQuery, "extended.request": dbQuery,
	"message.received": emailClass, "message.read": emailClass, "message.append": emailClass, "message.publish": emailClass,
	"register.write": configChange, "var.write": configChange, "cpu.control": configChange,
	"lifecycle.started": lifecycle, "lifecycle.stopped": lifecycle, "events.dropped": lifecycle, "transcript.saved": lifecycle,
}

// ClassOf files an event type for SIEM schemas.
func ClassOf(typ string) Class {
	if i := strings.IndexByte(typ, '.'); i >= 0 {
		if typ[:i] == "dns" && strings.HasPrefix(typ[i+1:], "query.") {
			return dnsQuery
		}
		if c, ok := classes[typ[i+1:]]; ok {
			return c
		}
	}
	return netInfo
}

// ECSVersion is the Elastic Common Schema version of ECSDocument.
const ECSVersion = "8.11.0"

// ECSDocument maps an event onto the Elastic Common Schema. DECNET's own
// detail lives under decnet.*: decnet.fields holds the protocol fields,
// whose keys attackers partly choose, so the index template maps it as
// one flattened field rather than letting it grow the mapping.
func ECSDocument(e *event.Event) map[string]any {
	c := ClassOf(e.Type)
	ev := map[string]any{"id": e.ID, "kind": "event", "category": c.ECSCategory, "type": c.ECSType, "action": e.Type,
		"severity": e.Severity, "module": "decnet", "dataset": "decnet." + e.Service}
	if e.Outcome != "" {
		ev["outcome"] = e.Outcome
	}
	if e.Severity >= event.High {
		ev["kind"] = "alert"
	}
	doc := map[string]any{
		"@timestamp": e.Time.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"),
		"ecs":        map[string]any{"version": ECSVersion},
		"event":      ev,
		"host":       map[string]any{"name": e.Decky},
		"service":    map[string]any{"name": e.Service},
		"observer":   map[string]any{"hostname": e.Host, "type": "honeypot", "vendor": "DECNET", "product": "DECNET"},
	}
	endpoint := func(p *event.Endpoint) map[string]any {
		m := map[string]any{"ip": p.IP}
		if p.Port > 0 {
			m["port"] = p.Port
		}
		return m
	}
	if e.Src != nil {
		doc["source"] = endpoint(e.Src)
	}
	if e.Dst != nil {
		doc["destination"] = endpoint(e.Dst)
	}
	if e.Transport != "" {
		doc["network"] = map[string]any{"transport": e.Transport}
	}
	own := map[string]any{"schema": e.Schema}
	for k, v := range map[string]string{"topology_id": e.Topology, "session_id": e.Session} {
		if v != "" {
			own[k] = v
		}
	}
	if e.Seq > 0 {
		own["seq"] = e.Seq
	}
	if len(e.Fields) > 0 {
		own["fields"] = e.Fields
	}
	if len(e.Truncated) > 0 {
		own["truncated"] = e.Truncated
	}
	if cr := e.Credential; cr != nil {
		doc["user"] = map[string]any{"name": cr.Principal}
		own["credential"] = cr
	}
	doc["decnet"] = own
	return doc
}
