package tftp

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Settings are the tftp service's settings.
type Settings struct {
	Write     string `json:"write" enum:"create,refuse" doc:"create accepts uploads of new files as tftpd-hpa --create does (captured to quarantine); refuse answers them as Debian's default --secure without --create ('File not found')"`
	MaxUpload int    `json:"max_upload" min:"0" max:"268435456" doc:"Bytes accepted from one upload; past it the transfer ends with 'Disk full or allocation exceeded' (0: 16 MiB)"`
	PerSource int    `json:"per_source" min:"1" max:"64" doc:"Transfers one source may run at once; more requests are dropped"`
}

func defaults() *Settings { return &Settings{Write: "create", MaxUpload: 16 << 20, PerSource: 4} }

var transferFields = []event.FieldDoc{
	event.F("path", "string", "the file name requested, as sent"),
	event.F("mode", "string", "octet or netascii (lower-cased)"),
	event.F("options", "object", "RFC 2347 options requested (name -> value)"),
	event.F("acked", "object", "options acknowledged in the OACK"),
	event.F("error_code", "int", "the TFTP error sent, if the request failed"),
	event.F("error", "string", "its message"),
	event.F("blocks", "int", "data blocks transferred"),
	event.F("complete", "bool", "the transfer ran to its last block"),
}

func init() {
	service.Register(service.Info{
		ID: "tftp", Title: "TFTP server", Ports: service.UDPPorts(Port),
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: []event.Type{
			{Name: "tftp.file.download", Severity: event.Medium, Summary: "A read request (RRQ), with how it ended.",
				Fields: append([]event.FieldDoc{event.F("bytes", "int", "bytes of file sent"), event.F("size", "int", "the file's size")}, transferFields...)},
			{Name: "tftp.file.upload", Severity: event.High, Summary: "A write request (WRQ); what was received is quarantined by SHA-256.",
				Fields: append([]event.FieldDoc{event.F("size", "int", "bytes received"), event.F("sha256", "string", "the quarantined blob"),
					event.F("truncated", "bool", "the upload passed max_upload and was cut")}, transferFields...)},
		},
	})
}
