package vnc

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the port of display :0.
const Port = 5900

// Settings are the vnc service's settings.
type Settings struct {
	Version  string `json:"version" enum:"3.3,3.7,3.8" doc:"RFB protocol version"`
	Auth     string `json:"auth" enum:"vnc,none" doc:"vnc asks for a password (VncAuth, also inside VeNCrypt); none shows the desktop to anyone"`
	Password string `json:"password" kind:"secret" doc:"A password accepted by VncAuth (first 8 characters, as VNC uses); empty accepts none"`
	Desktop  string `json:"desktop" doc:"Desktop name sent after login (default: <hostname>:0 (root), as vncserver names display :0)"`
	Geometry string `json:"geometry" doc:"Screen size WIDTHxHEIGHT (default 1024x768, Xvnc's)"`
	// Blacklist is TigerVNC's BlacklistThreshold: security failures from
	// one address before it is locked out, for 10 s doubling each time.
	Blacklist int `json:"blacklist_threshold" min:"0" max:"1000" doc:"Security failures before a source is locked out as TigerVNC does (0: never)"`
}

func defaults() *Settings {
	return &Settings{Version: "3.8", Auth: "vnc", Geometry: "1024x768", Blacklist: 5}
}

func init() {
	service.Register(service.Info{
		ID: "vnc", Title: "VNC server", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: append(event.LoginTypes("vnc",
			event.F("security", "string", "vnc_auth or vencrypt_vnc_auth"),
			event.F("password_guess", "string", "the common password the response was made with, when it is one"),
		),
			event.Type{Name: "vnc.client.version", Severity: event.Low, Summary: "The client's ProtocolVersion: the viewer's RFB version, a fingerprint.", Fields: []event.FieldDoc{
				event.F("client_version", "string", "what the client sent, as text"),
				event.F("negotiated", "string", "the version spoken, or empty when refused"),
			}},
			event.Type{Name: "vnc.security.choice", Severity: event.Low, Summary: "The security type (and VeNCrypt subtype) the client chose.", Fields: []event.FieldDoc{
				event.F("type", "int", "security type number (1 None, 2 VncAuth, 19 VeNCrypt)"),
				event.F("name", "string", "its name"),
				event.F("subtype", "int", "the VeNCrypt subtype, when VeNCrypt"),
				event.F("offered", "bool", "whether the server offered it"),
			}},
			event.Type{Name: "vnc.source.locked", Severity: event.Medium, Summary: "A source passed the security failure threshold and is refused for a while, as TigerVNC's blacklist does.", Fields: []event.FieldDoc{
				event.F("failures", "int", "security failures counted"),
				event.F("timeout_s", "int", "how long it is refused"),
			}},
			event.Type{Name: "vnc.desktop.open", Severity: event.High, Summary: "A client reached the desktop (ServerInit sent).", Fields: []event.FieldDoc{
				event.F("desktop", "string", "the desktop name shown"),
				event.F("shared", "bool", "the client's shared flag"),
			}},
			event.Type{Name: "vnc.input.keys", Severity: event.High, Summary: "Text typed at the desktop, a line at a time (Return ends a line).", Fields: []event.FieldDoc{
				event.F("text", "string", "the characters typed"),
				event.F("keys", "int", "key presses in the line, special keys included"),
			}},
			event.Type{Name: "vnc.clipboard.paste", Severity: event.High, Summary: "The client sent its clipboard (ClientCutText).", Fields: []event.FieldDoc{
				event.F("text", "string", "the text, capped"),
				event.F("length", "int", "its full length"),
			}},
		),
	})
}
