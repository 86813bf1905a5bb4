// Package mqtt describes the mqtt service. MQTT: a broker persona with retained bait topics, credentials and publishes captured.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package mqtt

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the mqtt service's settings.
type Settings struct {
	AcceptAll    bool           `json:"accept_all" doc:"Accept every CONNECT"`
	Creds        []string       `json:"creds" doc:"Accepted user:password pairs"`
	Persona      string         `json:"persona" enum:"water_plant,building_hvac,solar_farm,factory_line" doc:"Topic set served"`
	CustomTopics map[string]any `json:"custom_topics" doc:"Extra retained topics as {topic: payload}"`
}

func init() {
	service.Register(service.Info{
		ID: "mqtt", Title: "MQTT broker", Ports: service.TCPPorts(1883),
		Settings: func() any { return &Settings{Persona: "water_plant"} },
	})
}
