package smb

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Settings are the smb service's settings.
type Settings struct {
	Workgroup string   `json:"workgroup" doc:"NetBIOS domain or workgroup (default: the topology's domain on Windows, WORKGROUP on Samba)"`
	Shares    []string `json:"shares" doc:"Bait share names offered, each name or name:comment (default: a set fitting the persona); IPC$ and the administrative shares are always there"`
	Users     []string `json:"users" doc:"Accepted user:password pairs, checked against the NTLMv2 response; every other logon fails as on the real server (a user named administrator or admin is an administrator)"`
	Signing   string   `json:"signing" enum:"persona,enabled,required" doc:"SMB signing: persona (required on a domain controller, enabled elsewhere), enabled or required"`
}

func defaults() *Settings { return &Settings{Signing: "persona"} }

func init() {
	file := func(extra ...event.FieldDoc) []event.FieldDoc {
		return append([]event.FieldDoc{
			event.F("share", "string", "the share"),
			event.F("path", "string", `the path inside the share, with backslashes`),
			event.F("user", "string", "the session's user (empty for anonymous)"),
		}, extra...)
	}
	service.Register(service.Info{
		ID: "smb", Title: "SMB file sharing", Ports: service.TCPPorts(445, 139),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Legacy:   []service.Legacy{{Key: "os_version", Note: "the OS version follows the persona's distro"}, {Key: "server_name", Note: "the NetBIOS name is the persona's hostname"}},
		Events: append(event.LoginTypes("smb",
			event.F("user", "string", "the user name of the NTLM AUTHENTICATE"),
			event.F("domain", "string", "the domain it named"),
			event.F("workstation", "string", "the client's workstation name"),
			event.F("anonymous", "bool", "a null session"),
			event.F("guest", "bool", "the logon was mapped to the guest account"),
			event.F("dialect", "string", "the SMB dialect of the connection"),
			event.F("status", "string", "the NT status answered"),
		),
			event.Type{Name: "smb.negotiate.request", Severity: event.Low, Summary: "A client negotiated: the dialects and capabilities it offered fingerprint its SMB stack.", Fields: []event.FieldDoc{
				event.F("dialects", "list", "SMB2 dialects offered (2.0.2, 2.1, 3.0, 3.0.2, 3.1.1, or hex)"),
				event.F("smb1_dialects", "list", "dialect strings of an SMB1 NEGOTIATE"),
				event.F("dialect", "string", "the dialect chosen, or none"),
				event.F("client_guid", "string", "the client's GUID"),
				event.F("capabilities", "string", "the client's capabilities, hex"),
				event.F("security_mode", "string", "the client's security mode, hex"),
				event.F("contexts", "list", "negotiate context types offered"),
				event.F("ciphers", "list", "encryption ciphers offered"),
				event.F("client_name", "string", "the netname context's server name"),
			}},
			event.Type{Name: "smb.tree.connect", Severity: event.Medium, Summary: "A share was connected to, or refused.", Fields: []event.FieldDoc{
				event.F("share", "string", "the share name"),
				event.F("path", "string", `the UNC path asked for`),
				event.F("user", "string", "the session's user"),
				event.F("status", "string", "the NT status answered"),
			}},
			event.Type{Name: "smb.file.open", Severity: event.Medium, Summary: "A file, directory or pipe was opened (or the open refused).", Fields: file(
				event.F("disposition", "string", "open, create, overwrite, ..."),
				event.F("access", "string", "the desired access mask, hex"),
				event.F("directory", "bool", "a directory"),
				event.F("status", "string", "the NT status answered"),
			)},
			event.Type{Name: "smb.directory.list", Severity: event.Low, Summary: "A directory was listed.", Fields: file(
				event.F("pattern", "string", "the search pattern"),
				event.F("entries", "int", "entries returned"),
			)},
			event.Type{Name: "smb.file.download", Severity: event.High, Summary: "A file was read (reported once per open, at close).", Fields: file(
				event.F("bytes", "int", "bytes read"),
				event.F("size", "int", "the file's size"),
			)},
			event.Type{Name: "smb.file.upload", Severity: event.High, Summary: "A file was written, quarantined by SHA-256 (reported at close).", Fields: file(
				event.F("sha256", "string", "the quarantined content"),
				event.F("size", "int", "its size"),
				event.F("writes", "int", "WRITE requests"),
				event.F("truncated", "bool", "the content passed the cap and was cut"),
			)},
			event.Type{Name: "smb.file.delete", Severity: event.High, Summary: "A file or directory was deleted.", Fields: file()},
			event.Type{Name: "smb.file.rename", Severity: event.High, Summary: "A file or directory was renamed (ransomware sweeps rename many).", Fields: file(
				event.F("new_path", "string", "the new path"),
			)},
			event.Type{Name: "smb.file.suppressed", Severity: event.High, Summary: "A session passed its cap of file events; the rest are counted, not reported one by one (a mass rename or encryption sweep).", Fields: []event.FieldDoc{
				event.F("cap", "int", "the per-session cap"),
			}},
			event.Type{Name: "smb.rpc.call", Severity: event.Medium, Summary: "A DCE/RPC bind or call over a named pipe.", Fields: []event.FieldDoc{
				event.F("pipe", "string", "the named pipe"),
				event.F("interface", "string", "the interface (srvsvc, wkssvc) or its UUID"),
				event.F("operation", "string", "bind or the operation name"),
				event.F("opnum", "int", "the operation number"),
				event.F("user", "string", "the session's user"),
			}},
		),
	})
}
