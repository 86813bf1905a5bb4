package snmp

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the SNMP agent port.
const Port = 161

// Settings are the snmp service's settings.
type Settings struct {
	Communities []string `json:"communities" doc:"Accepted read-only community strings (default public); any other gets no answer, as net-snmp"`
	View        string   `json:"view" enum:"all,systemonly" doc:"What the communities may read: all of the MIB (default), or only the system and hrSystem groups as Debian's stock snmpd.conf allows"`
	SysDescr    string   `json:"sys_descr" doc:"sysDescr (default from the persona: uname as net-snmp prints it, or Windows' SNMP service string)"`
	SysLocation string   `json:"sys_location" doc:"sysLocation (default: the distro's packaged snmpd.conf value)"`
	SysContact  string   `json:"sys_contact" doc:"sysContact (default: the distro's packaged snmpd.conf value)"`
}

func defaults() *Settings { return &Settings{Communities: []string{"public"}, View: "all"} }

var requestFields = []event.FieldDoc{
	event.F("version", "string", "1, 2c or 3"),
	event.F("pdu", "string", "get, getnext, getbulk or set"),
	event.F("oids", "list", "the requested OIDs, dotted (first 32)"),
	event.F("varbinds", "int", "number of variable bindings"),
	event.F("non_repeaters", "int", "getbulk only"),
	event.F("max_repetitions", "int", "getbulk only"),
}

func init() {
	service.Register(service.Info{
		ID: "snmp", Title: "SNMP agent", Ports: service.UDPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "snmp_community", Setting: "communities"}},
		Events: append(event.LoginTypes("snmp",
			event.F("version", "string", "1, 2c or 3"),
			event.F("pdu", "string", "the request's PDU type"),
			event.F("security_level", "string", "v3: noAuthNoPriv, authNoPriv or authPriv"),
			event.F("engine_id", "string", "v3: the engine id the request named, hex"),
		),
			event.Type{Name: "snmp.request.read", Severity: event.Low, Summary: "A Get, GetNext or GetBulk with an accepted community; a walk is recorded once, at its first request.", Fields: requestFields},
			event.Type{Name: "snmp.request.set", Severity: event.High, Summary: "A Set, refused as net-snmp refuses it for a read-only community.", Fields: append(requestFields,
				event.F("values", "list", "the values as type: text (first 32, capped)"),
				event.F("error", "string", "the error returned: noAccess (v2c) or noSuchName (v1)"),
			)},
			event.Type{Name: "snmp.engine.discovery", Severity: event.Low, Summary: "An SNMPv3 engine discovery (or a message naming another engine), answered with a usmStatsUnknownEngineIDs report.", Fields: []event.FieldDoc{
				event.F("msg_id", "int", "the message id"),
				event.F("user", "string", "the user name, usually empty"),
			}},
		),
	})
}
