package mqtt

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the MQTT port.
const Port = 1883

// Settings are the mqtt service's settings.
type Settings struct {
	AcceptAll      bool           `json:"accept_all" doc:"Accept every CONNECT, whatever its username and password"`
	AllowAnonymous bool           `json:"allow_anonymous" doc:"Accept a CONNECT without username (Mosquitto's allow_anonymous; default true, the exposed-broker setup)"`
	Creds          []string       `json:"creds" doc:"Accepted user:password pairs (Mosquitto's password_file); any other username is refused"`
	Persona        string         `json:"persona" enum:"auto,home_automation,water_plant,building_hvac,solar_farm,factory_line,custom" doc:"Retained topic set served: auto picks home_automation for iot-device, factory_line for industrial-control, water_plant otherwise; custom serves only custom_topics"`
	CustomTopics   map[string]any `json:"custom_topics" doc:"Extra retained topics as {topic: payload}; non-string payloads are sent as JSON"`
}

func defaults() *Settings { return &Settings{AllowAnonymous: true, Persona: "auto"} }

func init() {
	service.Register(service.Info{
		ID: "mqtt", Title: "MQTT broker", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: append(event.LoginTypes("mqtt",
			event.F("client_id", "string", "the client identifier"),
			event.F("protocol", "string", "MQIsdp or MQTT"),
			event.F("protocol_level", "int", "3 (3.1), 4 (3.1.1) or 5"),
			event.F("keepalive", "int", "keep alive, seconds"),
			event.F("clean_session", "bool", "clean session / clean start"),
			event.F("anonymous", "bool", "no username was given (no credential object then)"),
			event.F("will_topic", "string", "the will's topic, when there is one"),
			event.F("will_payload_b64", "string", "the will's payload, base64 (capped)"),
			event.F("return_code", "int", "the CONNACK code or v5 reason code sent"),
		),
			event.Type{Name: "mqtt.message.publish", Severity: event.Medium, Summary: "A PUBLISH from the client.", Fields: []event.FieldDoc{
				event.F("topic", "string", "the topic"),
				event.F("qos", "int", "0, 1 or 2"),
				event.F("retain", "bool", "the retain flag"),
				event.F("dup", "bool", "the duplicate flag"),
				event.F("size", "int", "payload length"),
				event.F("payload", "string", "the payload as text (capped)"),
				event.F("payload_b64", "string", "the payload, base64 (capped at 64 KiB)"),
			}},
			event.Type{Name: "mqtt.subscription.add", Severity: event.Low, Summary: "A SUBSCRIBE.", Fields: []event.FieldDoc{
				event.F("filters", "list", "the topic filters"),
				event.F("qos", "list", "the requested QoS of each"),
			}},
			event.Type{Name: "mqtt.subscription.remove", Severity: event.Info, Summary: "An UNSUBSCRIBE.", Fields: []event.FieldDoc{
				event.F("filters", "list", "the topic filters"),
			}},
		),
	})
}
