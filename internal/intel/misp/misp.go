// Package misp writes a report (package report) as a MISP event, in the
// JSON MISP's REST API takes (POST /events/add) and its UI imports, and
// pushes it to a MISP instance.
//
// The event holds attributes for what MISP correlates on (the
// addresses, the payload hashes, the URLs, the SSH client keys), MISP
// objects for the richer records (a file object per payload, a
// network-connection object per decky service an address reached, a
// credential object per credential tried), and galaxy tags for the
// ATT&CK techniques. UUIDs are derived from what they describe, so an
// event exported twice is the same event (MISP updates it).
package misp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/report"
)

// Document is the JSON of POST /events/add: {"Event": {...}}.
type Document struct {
	Event Event `json:"Event"`
}

// Event is a MISP event. MISP writes numbers as strings.
type Event struct {
	UUID          string      `json:"uuid"`
	Info          string      `json:"info"`
	Date          string      `json:"date"`
	ThreatLevelID string      `json:"threat_level_id"`
	Analysis      string      `json:"analysis"`
	Distribution  string      `json:"distribution"`
	Published     bool        `json:"published"`
	Timestamp     string      `json:"timestamp"`
	Orgc          Org         `json:"Orgc"`
	Attribute     []Attribute `json:"Attribute"`
	Object        []Object    `json:"Object"`
	Tag           []Tag       `json:"Tag"`
}

// Org is the creating organisation.
type Org struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
}

// Attribute is one MISP attribute.
type Attribute struct {
	UUID           string `json:"uuid"`
	Type           string `json:"type"`
	Category       string `json:"category"`
	Value          string `json:"value"`
	ToIDS          bool   `json:"to_ids"`
	Comment        string `json:"comment,omitempty"`
	Timestamp      string `json:"timestamp"`
	FirstSeen      string `json:"first_seen,omitempty"`
	LastSeen       string `json:"last_seen,omitempty"`
	ObjectRelation string `json:"object_relation,omitempty"`
	Tag            []Tag  `json:"Tag,omitempty"`
}

// Object is a MISP object made from a template of misp-objects.
type Object struct {
	UUID            string      `json:"uuid"`
	Name            string      `json:"name"`
	MetaCategory    string      `json:"meta-category"`
	TemplateUUID    string      `json:"template_uuid"`
	TemplateVersion string      `json:"template_version"`
	Description     string      `json:"description,omitempty"`
	Comment         string      `json:"comment,omitempty"`
	Timestamp       string      `json:"timestamp"`
	Attribute       []Attribute `json:"Attribute"`
}

// Tag is a MISP tag; galaxy clusters are tags too.
type Tag struct {
	Name string `json:"name"`
}

// Object templates used (github.com/MISP/misp-objects).
var (
	fileTemplate       = template{name: "file", meta: "file", uuid: "688c46fb-5edb-40a3-8273-1af7923e2215", version: "25"}
	connectionTemplate = template{name: "network-connection", meta: "network", uuid: "af16764b-f8e5-4603-9de1-de34d272f80b", version: "7"}
	credentialTemplate = template{name: "credential", meta: "misc", uuid: "a27e98c9-9b0e-414c-8076-d201e039ca09", version: "5"}
)

type template struct{ name, meta, uuid, version string }

// OrgUUID names DECNET as the creating organisation.
var OrgUUID = uuid5("org|decnet")

// galaxyNames are the ATT&CK galaxy's cluster values where they are not
// the technique's short name (its name after "Parent: ") and id.
var galaxyNames = map[string]string{
	"T1557.001": "Name Resolution Poisoning and SMB Relay - T1557.001",
}

// GalaxyTag is the MISP galaxy tag of an ATT&CK technique.
func GalaxyTag(id, name string) string {
	v, ok := galaxyNames[id]
	if !ok {
		if i := strings.LastIndex(name, ": "); i >= 0 {
			name = name[i+2:]
		}
		v = name + " - " + id
	}
	return `misp-galaxy:mitre-attack-pattern="` + v + `"`
}

// Build writes r as a MISP event.
func Build(r *report.Report) *Document {
	scope := scopeName(r.Scope)
	ts := unix(r.Generated)
	ev := Event{UUID: uuid5("event|" + scope), Info: "DECNET: " + scope, Date: r.Generated.UTC().Format("2006-01-02"),
		ThreatLevelID: "2", Analysis: "2", Distribution: "0", Timestamp: ts, Orgc: Org{Name: "DECNET", UUID: OrgUUID},
		Attribute: []Attribute{}, Object: []Object{},
		Tag: []Tag{{Name: "tlp:amber"}, {Name: `misp:tool="decnet"`}}}
	ids := make([]string, 0, len(r.Techniques))
	for id := range r.Techniques {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ev.Tag = append(ev.Tag, Tag{Name: GalaxyTag(id, r.Techniques[id].Name)})
	}
	attr := func(key, typ, cat, value, comment string, ids bool, first, last time.Time) Attribute {
		return Attribute{UUID: uuid5("attr|" + scope + "|" + key), Type: typ, Category: cat, Value: value, ToIDS: ids,
			Comment: comment, Timestamp: ts, FirstSeen: iso(first), LastSeen: iso(last)}
	}
	for _, a := range r.Actors {
		for _, s := range a.Sources {
			ev.Attribute = append(ev.Attribute, attr("ip|"+s.IP, "ip-src", "Network activity", s.IP,
				fmt.Sprintf("%s: %d events on %s", a.Name(), s.Events, strings.Join(s.Deckies, ", ")), true, s.FirstSeen, s.LastSeen))
			if s.Intel != nil && s.Intel.ASN != 0 {
				ev.Attribute = append(ev.Attribute, attr("as|"+s.IP, "AS", "Network activity", "AS"+strconv.FormatUint(uint64(s.Intel.ASN), 10),
					s.IP+" "+s.Intel.ASOrg, false, time.Time{}, time.Time{}))
			}
			for _, u := range s.URLs {
				ev.Attribute = append(ev.Attribute, attr("url|"+u.Value, "url", "Network activity", u.Value,
					"fetched by "+s.IP+" on a decoy", true, u.Time, u.Time))
			}
			for _, k := range s.SSHKeys {
				ev.Attribute = append(ev.Attribute, attr("ssh|"+k.Value, "ssh-fingerprint", "Network activity", k.Value,
					"SSH client key offered by "+s.IP, true, k.Time, k.Time))
			}
			for _, f := range s.Files {
				o := object(fileTemplate, scope+"|file|"+f.SHA256, "dropped by "+s.IP+" ("+f.Type+")", ts)
				o.Attribute = append(o.Attribute, rel(o, "sha256", "sha256", "Payload delivery", f.SHA256, true, ts))
				if name := baseName(f.Name); name != "" {
					o.Attribute = append(o.Attribute, rel(o, "filename", "filename", "Payload delivery", name, false, ts))
				}
				if f.Size > 0 {
					o.Attribute = append(o.Attribute, rel(o, "size-in-bytes", "size-in-bytes", "Other", strconv.FormatInt(f.Size, 10), false, ts))
				}
				ev.Object = append(ev.Object, o)
			}
			for _, c := range s.Connections {
				o := object(connectionTemplate, fmt.Sprintf("%s|conn|%s|%s|%d|%s", scope, s.IP, c.DstIP, c.DstPort, c.Transport),
					fmt.Sprintf("%s to decky %s (%s)", s.IP, c.Decky, c.Service), ts)
				o.Attribute = append(o.Attribute, rel(o, "ip-src", "ip-src", "Network activity", s.IP, true, ts),
					rel(o, "ip-dst", "ip-dst", "Network activity", c.DstIP, false, ts))
				if c.DstPort > 0 {
					o.Attribute = append(o.Attribute, rel(o, "dst-port", "port", "Network activity", strconv.Itoa(c.DstPort), false, ts))
				}
				if c.Transport != "" {
					o.Attribute = append(o.Attribute, rel(o, "layer4-protocol", "text", "Other", strings.ToUpper(c.Transport), false, ts))
				}
				if c.Service != "" {
					o.Attribute = append(o.Attribute, rel(o, "layer7-protocol", "text", "Other", strings.ToUpper(c.Service), false, ts))
				}
				o.Attribute = append(o.Attribute, rel(o, "first-packet-seen", "datetime", "Other", iso(c.First), false, ts),
					rel(o, "count", "counter", "Other", strconv.Itoa(c.Count), false, ts))
				ev.Object = append(ev.Object, o)
			}
			for _, c := range s.Credentials {
				o := object(credentialTemplate, fmt.Sprintf("%s|cred|%s|%s|%s|%s|%s", scope, s.IP, c.Service, c.Decky, c.Principal, c.Secret),
					fmt.Sprintf("tried by %s on %s (%s)", s.IP, c.Decky, c.Service), ts)
				if c.Principal != "" {
					o.Attribute = append(o.Attribute, rel(o, "username", "text", "Other", c.Principal, false, ts))
				}
				if c.Secret != "" {
					o.Attribute = append(o.Attribute, rel(o, "password", "text", "Other", c.Secret, false, ts))
				}
				o.Attribute = append(o.Attribute, rel(o, "text", "text", "Other", "tried against "+c.Service+" on decky "+c.Decky, false, ts))
				ev.Object = append(ev.Object, o)
			}
		}
	}
	return &Document{Event: ev}
}

func object(t template, key, comment, ts string) Object {
	return Object{UUID: uuid5("obj|" + key), Name: t.name, MetaCategory: t.meta, TemplateUUID: t.uuid, TemplateVersion: t.version,
		Comment: comment, Timestamp: ts, Attribute: []Attribute{}}
}

func rel(o Object, relation, typ, cat, value string, ids bool, ts string) Attribute {
	return Attribute{UUID: uuid5("objattr|" + o.UUID + "|" + relation + "|" + value), Type: typ, Category: cat, Value: value,
		ToIDS: ids, Timestamp: ts, ObjectRelation: relation}
}

func scopeName(s report.Scope) string {
	switch {
	case s.Attacker != "":
		return "attacker " + s.Attacker
	case s.Identity != "":
		return "identity " + s.Identity
	case s.Campaign != "":
		return "campaign " + s.Campaign
	}
	return "activity from " + iso(s.Since) + " to " + iso(s.Until)
}

func baseName(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return p
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// namespace is DECNET's MISP UUID namespace.
var namespace = [16]byte{0x9e, 0x2c, 0x41, 0x0d, 0x6b, 0x7a, 0x4f, 0x3e, 0x8d, 0x51, 0x2a, 0xc4, 0x7e, 0x90, 0x13, 0x5b}

func uuid5(name string) string { return event.UUIDv5(namespace, name) }
