package mongodb

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Settings are the mongodb service's settings.
type Settings struct {
	Version   string   `json:"version" doc:"Server version, e.g. 7.0.14 (default: the mongodb.org package for the distro)"`
	ReplSet   string   `json:"repl_set" doc:"Replica set name the node reports as primary of (default: standalone)"`
	Auth      bool     `json:"auth" doc:"security.authorization: on refuses every command but hello, buildInfo, ping and SASL with 13 Unauthorized; off is the exposed database with bait collections"`
	Users     []string `json:"users" doc:"user:password pairs SCRAM accepts when auth is on (default: none; every attempt is captured and fails)"`
	Databases []string `json:"databases" doc:"Bait database names besides admin, config and local (default: two seeded application names)"`
}

func defaults() *Settings { return &Settings{} }

func init() {
	service.Register(service.Info{
		ID: "mongodb", Title: "MongoDB server", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "mongodb_version", Setting: "version"}},
		Events: append(event.LoginTypes("mongodb",
			event.F("user", "string", "the SCRAM user (n=)"),
			event.F("db", "string", "the authentication database"),
			event.F("mechanism", "string", "SCRAM-SHA-1 or SCRAM-SHA-256"),
			event.F("speculative", "bool", "the exchange started inside hello (speculativeAuthenticate)"),
			event.F("error_code", "int", "the code answered (18 AuthenticationFailed)"),
		),
			event.Type{Name: "mongodb.client.hello", Severity: event.Low, Summary: "The handshake: hello/isMaster with the driver's client metadata.", Fields: []event.FieldDoc{
				event.F("command", "string", "hello, isMaster or ismaster"),
				event.F("opcode", "string", "OP_MSG or OP_QUERY"),
				event.F("driver", "string", "client.driver.name and version"),
				event.F("os", "string", "client.os type, name, architecture, version"),
				event.F("platform", "string", "client.platform"),
				event.F("application", "string", "client.application.name"),
				event.F("sasl_user", "string", "saslSupportedMechs asked for (db.user)"),
			}},
			event.Type{Name: "mongodb.command.input", Severity: event.Medium, Summary: "A command other than the handshake and SASL.", Fields: []event.FieldDoc{
				event.F("command", "string", "the command name"),
				event.F("db", "string", "the database ($db)"),
				event.F("collection", "string", "the collection the command names, if any"),
				event.F("opcode", "string", "OP_MSG or OP_QUERY"),
				event.F("document", "string", "the command as Extended JSON (capped)"),
				event.F("result", "string", "ok or the codeName answered"),
			}},
			event.Type{Name: "mongodb.data.write", Severity: event.High, Summary: "Documents inserted, updated or deleted (a ransom note is an insert); the documents are quarantined by SHA-256.", Fields: []event.FieldDoc{
				event.F("command", "string", "insert, update, delete or findAndModify"),
				event.F("db", "string", "the database"),
				event.F("collection", "string", "the collection"),
				event.F("n", "int", "documents (or statements) in the command"),
				event.F("preview", "string", "the first document as Extended JSON (capped)"),
				event.F("sha256", "string", "the quarantined documents (Extended JSON, one per line)"),
				event.F("size", "int", "bytes quarantined"),
			}},
			event.Type{Name: "mongodb.data.drop", Severity: event.High, Summary: "A database or collection dropped (the first step of a ransom wipe).", Fields: []event.FieldDoc{
				event.F("command", "string", "dropDatabase or drop"),
				event.F("db", "string", "the database"),
				event.F("collection", "string", "the collection (drop)"),
				event.F("existed", "bool", "the namespace existed"),
			}},
		),
	})
}
