package redis

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Settings are the Redis service's settings.
type Settings struct {
	Version  string `json:"version" doc:"Server version (default: one fitting the distro)"`
	Password string `json:"password" kind:"secret" doc:"requirepass; empty means no AUTH needed"`
}

func defaults() *Settings { return &Settings{} }

func init() {
	service.Register(service.Info{
		ID: "redis", Title: "Redis server", Ports: service.TCPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "redis_version", Setting: "version"}},
		Events: append(event.LoginTypes("redis",
			event.F("command", "string", "auth or hello"),
			event.F("user", "string", "the user (ACL form)"),
		),
			event.Type{Name: "redis.command.input", Severity: event.Medium, Summary: "A command.", Fields: []event.FieldDoc{
				event.F("command", "string", "the command name, lowercase"),
				event.F("args", "list", "its arguments as text (capped)"),
				event.F("args_b64", "list", "its arguments, base64"),
				event.F("argc", "int", "number of arguments"),
				event.F("db", "int", "the selected database"),
			}},
			event.Type{Name: "redis.file.upload", Severity: event.High, Summary: "A file written with CONFIG SET dir/dbfilename and SAVE (the cron and authorized_keys attacks), quarantined by SHA-256.", Fields: []event.FieldDoc{
				event.F("path", "string", "the file written"),
				event.F("command", "string", "save, bgsave, ..."),
				event.F("keys", "int", "keys in the dump"),
				event.F("target", "string", "what the path is: cron, ssh_authorized_keys, webroot, ..."),
				event.F("sha256", "string", "the quarantined dump"),
			}},
			event.Type{Name: "redis.exploit.attempt", Severity: event.Critical, Summary: "A known attack: a rogue master (REPLICAOF), MODULE LOAD, the Lua sandbox escape.", Fields: []event.FieldDoc{
				event.F("rule", "string", "replicaof, module_load or lua_sandbox_escape"),
				event.F("vulnerability_id", "string", "CVE where one applies"),
			}},
		),
	})
}
