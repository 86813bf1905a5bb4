package ics

import (
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
)

// Standard ports.
const (
	ModbusPort = 502
	S7Port     = 102
)

// Settings are the ics service's settings.
type Settings struct {
	Template string `json:"template" enum:"siemens_s7_1200,schneider_m221,generic_modbus" doc:"Device persona"`
	Vendor   string `json:"vendor" doc:"Vendor name reported (default: the template's)"`
	Product  string `json:"product" doc:"Product name reported (default: the template's)"`
	Station  string `json:"station" doc:"Station (system) name an S7 reports (default: seeded)"`
}

func defaults() *Settings { return &Settings{Template: "siemens_s7_1200"} }

func init() {
	service.Register(service.Info{
		ID: "ics", Title: "Industrial controller (Modbus/TCP, S7comm)", Ports: service.TCPPorts(ModbusPort, S7Port),
		Aliases: []string{"conpot"}, Namespace: "modbus",
		Settings: func() any { return defaults() },
		New:      serve.Factory(New),
		Events: append(event.SessionTypes("s7"),
			event.Type{Name: "modbus.device.identify", Severity: event.Medium, Summary: "A Modbus device identification: Read Device Identification (FC 43/14) or Report Server ID (FC 17).", Fields: []event.FieldDoc{
				event.F("unit_id", "int", "the unit addressed"),
				event.F("function", "int", "43 or 17"),
				event.F("object_id", "int", "the first object asked for (FC 43)"),
				event.F("exception", "int", "the exception code answered, 0 for none"),
			}},
			event.Type{Name: "modbus.register.read", Severity: event.Low, Summary: "A read of coils, discrete inputs or registers (FC 1-4, and the read half of FC 23).", Fields: []event.FieldDoc{
				event.F("unit_id", "int", "the unit addressed"),
				event.F("function", "int", "the function code"),
				event.F("table", "string", "coils, discrete_inputs, holding_registers or input_registers"),
				event.F("address", "int", "the first address"),
				event.F("quantity", "int", "how many"),
				event.F("exception", "int", "the exception code answered, 0 for none"),
			}},
			event.Type{Name: "modbus.register.write", Severity: event.High, Summary: "A write to coils or holding registers (FC 5, 6, 15, 16, 22, 23): kept, as a PLC keeps it.", Fields: []event.FieldDoc{
				event.F("unit_id", "int", "the unit addressed"),
				event.F("function", "int", "the function code"),
				event.F("table", "string", "coils or holding_registers"),
				event.F("address", "int", "the first address"),
				event.F("values", "list", "the values written (capped)"),
				event.F("tag", "string", "the process tag at the first address, when it has one"),
				event.F("exception", "int", "the exception code answered, 0 for none"),
			}},
			event.Type{Name: "modbus.request.unknown", Severity: event.Low, Summary: "A function code the device does not implement (answered ILLEGAL FUNCTION).", Fields: []event.FieldDoc{
				event.F("unit_id", "int", "the unit addressed"),
				event.F("function", "int", "the function code"),
			}},
			event.Type{Name: "s7.client.hello", Severity: event.Medium, Summary: "An S7 client connected: its COTP TSAPs (rack and slot) and the PDU size it set up.", Fields: []event.FieldDoc{
				event.F("src_tsap", "string", "calling TSAP, hex"),
				event.F("dst_tsap", "string", "called TSAP, hex"),
				event.F("rack", "int", "rack from the called TSAP"),
				event.F("slot", "int", "slot from the called TSAP"),
				event.F("pdu_size", "int", "PDU size asked for"),
			}},
			event.Type{Name: "s7.device.identify", Severity: event.Medium, Summary: "A system status list (SZL) read: module identification, component identification, CPU state.", Fields: []event.FieldDoc{
				event.F("szl_id", "string", "SZL id, hex"),
				event.F("szl_index", "string", "SZL index, hex"),
				event.F("found", "bool", "whether the PLC has that list"),
			}},
			event.Type{Name: "s7.var.read", Severity: event.Low, Summary: "A Read Var of PLC memory.", Fields: []event.FieldDoc{
				event.F("items", "list", "each item as area:db:byte_offset:length"),
			}},
			event.Type{Name: "s7.var.write", Severity: event.High, Summary: "A Write Var to PLC memory: kept, as the PLC keeps it.", Fields: []event.FieldDoc{
				event.F("items", "list", "each item as area:db:byte_offset:length"),
				event.F("data_hex", "list", "the bytes written per item, hex (capped)"),
			}},
			event.Type{Name: "s7.block.transfer", Severity: event.High, Summary: "A program block listing, upload or download: someone reading or replacing the PLC's logic.", Fields: []event.FieldDoc{
				event.F("action", "string", "list, info, upload or download"),
				event.F("block", "string", "the block, e.g. OB1 or DB1, when named"),
			}},
			event.Type{Name: "s7.cpu.control", Severity: event.Critical, Summary: "A request to stop or start the CPU (PLC control and stop functions): refused, and never silent.", Fields: []event.FieldDoc{
				event.F("action", "string", "stop, start or the PI service name"),
			}},
		),
	})
}
