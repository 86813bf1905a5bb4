package ics

import (
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// nmapScripts runs nmap -sV with the ICS scripts on both ports.
func nmapScripts(t *testing.T, r *servicetest.Running) string {
	t.Helper()
	bin := testenv.RequireTool(t, "nmap")
	ports := r.Port(ModbusPort) + "," + r.Port(S7Port)
	out, err := exec.Command(bin, "-sV", "-Pn", "-n", "-p", ports, "--script", "s7-info,modbus-discover", r.Addr.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if strings.Contains(strings.ToLower(string(out)), "honeypot") {
		t.Fatalf("nmap calls the PLC a honeypot:\n%s", out)
	}
	return string(out)
}

// nmap's s7-info reads the S7-1200 persona's module, firmware, type,
// serial and station; modbus-discover finds its Modbus server, which
// (as MB_SERVER does) has no identification function.
func TestNmapSeesTheS7Persona(t *testing.T) {
	t.Parallel()               // nmap waits out its probes: let the rest of the package run meanwhile
	testenv.RequireLowPorts(t) // nmap runs s7-info and modbus-discover on 102 and 502 only
	r := servicetest.Start(t, "ics", S7Port, servicetest.Options{Config: map[string]any{"station": "WTP_PLC_3"}})
	out := nmapScripts(t, r)
	t.Log(out)
	for _, want := range []string{
		"Siemens S7 PLC",
		"Module: 6ES7 214-1AG40-0XB0",
		"Basic Hardware: 6ES7 214-1AG40-0XB0",
		"Version: 4.4.0",
		"System Name: WTP_PLC_3",
		"Module Type: CPU 1214C DC/DC/DC",
		"Serial Number: S C-",
		"Copyright: Original Siemens Equipment",
		"modbus-discover",
		"ILLEGAL FUNCTION",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap does not say %q", want)
		}
	}
	for _, typ := range []string{"s7.client.hello", "s7.device.identify", "modbus.device.identify"} {
		if _, ok := r.Events.Wait(3*time.Second, event.OfType(typ)); !ok {
			t.Errorf("no %s", typ)
		}
	}
}

// A Schneider persona identifies itself through Read Device
// Identification, as an M221 does.
func TestNmapSeesTheModiconPersona(t *testing.T) {
	t.Parallel()               // nmap waits out its probes: let the rest of the package run meanwhile
	testenv.RequireLowPorts(t) // nmap runs s7-info and modbus-discover on 102 and 502 only
	r := servicetest.Start(t, "ics", ModbusPort, servicetest.Options{Config: map[string]any{"template": "schneider_m221"}})
	out := nmapScripts(t, r)
	t.Log(out)
	if !strings.Contains(out, "Device identification: Schneider Electric TM221CE40R V1.6.2.0") {
		t.Errorf("modbus-discover does not name the M221:\n%s", out)
	}
}

// mbpoll reads readings that agree from one read to the next, writes a
// setpoint and a pump coil that stay written, and gets the exceptions a
// PLC sends; every write is an event with its process tag.
func TestModbusClientReadsAndWrites(t *testing.T) {
	bin := testenv.RequireTool(t, "mbpoll")
	r := servicetest.Start(t, "ics", ModbusPort, servicetest.Options{})
	poll := func(args ...string) string {
		t.Helper()
		args = append([]string{"-m", "tcp", "-p", r.Port(ModbusPort), "-0", "-1", "-o", "2"}, append(args[:len(args):len(args)], r.Addr.String())...)
		if i := indexOf(args, "--"); i >= 0 { // values go after the host
			vals := append([]string(nil), args[i+1:len(args)-1]...)
			args = append(append(args[:i], r.Addr.String()), vals...)
		}
		out, _ := exec.Command(bin, args...).CombinedOutput()
		return string(out)
	}
	first := poll("-t", "3", "-r", "0", "-c", "6")
	second := poll("-t", "3", "-r", "0", "-c", "6")
	if !strings.Contains(first, "[0]:") || regs(first)[0] == "" {
		t.Fatalf("input registers:\n%s", first)
	}
	if a, b := regs(first), regs(second); a[0] != b[0] && absDiff(a[0], b[0]) > 5 {
		t.Errorf("tank level jumped between two reads: %s then %s", a[0], b[0])
	}
	if out := poll("-t", "4", "-r", "0", "--", "412"); !strings.Contains(out, "Written 1 references") {
		t.Fatalf("write holding register:\n%s", out)
	}
	if got := regs(poll("-t", "4", "-r", "0", "-c", "1")); got[0] != "412" {
		t.Errorf("setpoint reads %q after writing 412", got[0])
	}
	if out := poll("-t", "0", "-r", "1", "--", "0"); !strings.Contains(out, "Written 1 references") {
		t.Fatalf("write coil:\n%s", out)
	}
	if out := poll("-t", "4", "-r", "999", "-c", "5"); !strings.Contains(out, "Illegal data address") {
		t.Errorf("a read past the table:\n%s", out)
	}
	e, ok := r.Events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "modbus.register.write" && e.Fields["tag"] == "Tank1_Level_SP_cm"
	})
	if !ok {
		t.Fatal("the setpoint write is not an event with its tag")
	}
	if v, _ := e.Fields["values"].([]int); len(v) != 1 || v[0] != 412 {
		t.Errorf("write event values %v", e.Fields["values"])
	}
	if _, ok := r.Events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "modbus.register.write" && e.Fields["tag"] == "Pump2_Run"
	}); !ok {
		t.Error("the pump coil write is not an event with its tag")
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// regs returns the values mbpoll printed, in order.
func regs(out string) []string {
	var v []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[") && strings.Contains(l, "]:") {
			v = append(v, strings.TrimSpace(l[strings.Index(l, "]:")+2:]))
		}
	}
	if v == nil {
		return []string{""}
	}
	return v
}

func absDiff(a, b string) int {
	var x, y int
	for _, c := range a {
		x = x*10 + int(c-'0')
	}
	for _, c := range b {
		y = y*10 + int(c-'0')
	}
	if x > y {
		return x - y
	}
	return y - x
}

// An S7 client's Write Var to the setpoint DB shows on Modbus, and a stop
// request is refused and recorded.
func TestS7WriteVarAndStop(t *testing.T) {
	r := servicetest.Start(t, "ics", S7Port, servicetest.Options{})
	item := h("120a10040001000284000000") // WORD DB2.DBW0
	script := h("0300001611e00000000100c0010ac1020100c2020101") +
		job(1, h("f0000001000101e0"), "") +
		job(2, h("0501")+item, h("000400100 1c2")) + // Write Var 450
		job(3, h("0401")+item, "") + // Read Var
		job(4, h("29000000000009")+"P_PROGRAM", "") // PLC stop
	out := servicetest.Exchange(t, r.HostPort(S7Port), script, 2*time.Second)
	if !strings.Contains(hex.EncodeToString([]byte(out)), "ff04001001c2") {
		t.Errorf("Read Var after Write Var: %x", out)
	}
	if _, ok := r.Events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "s7.var.write" && strings.Contains(strings.Join(e.Fields["items"].([]string), ","), "DB:2:0:2")
	}); !ok {
		t.Error("no s7.var.write for DB2")
	}
	if _, ok := r.Events.Wait(3*time.Second, event.OfType("s7.cpu.control")); !ok {
		t.Error("no s7.cpu.control for the stop")
	}
	if v := r.Env.Settings; v == nil {
		t.Fatal("no settings")
	}
}

func h(s string) string { b, _ := hex.DecodeString(strings.ReplaceAll(s, " ", "")); return string(b) }

// job frames an S7 job request in TPKT and COTP.
func job(ref byte, param, data string) string {
	s7 := "\x32\x01\x00\x00\x00" + string(rune(ref)) + u16(len(param)) + u16(len(data)) + param + data
	return "\x03\x00" + u16(len(s7)+7) + "\x02\xf0\x80" + s7
}

func u16(n int) string { return string([]byte{byte(n >> 8), byte(n)}) }

func FuzzModbusSession(f *testing.F) {
	r := servicetest.Start(f, "ics", ModbusPort, servicetest.Options{Config: map[string]any{"template": "generic_modbus"}})
	servicetest.FuzzSession(f, r, ModbusPort,
		"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a",
		"\x00\x01\x00\x00\x00\x05\x01\x2b\x0e\x01\x00",
		"\x00\x01\x00\x00\x00\x0b\x01\x10\x00\x00\x00\x02\x04\x00\x01\x00\x02",
		"\x00\x01\x00\x00\x00\x0f\x01\x17\x00\x00\x00\x02\x00\x00\x00\x02\x04\x00\x01\x00\x02",
		"\x00\x01\x00\x00\x00\x02\x01\x11")
}

func FuzzS7Session(f *testing.F) {
	r := servicetest.Start(f, "ics", S7Port, servicetest.Options{})
	cr := "\x03\x00\x00\x16\x11\xe0\x00\x00\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02"
	setup := "\x03\x00\x00\x19\x02\xf0\x80\x32\x01\x00\x00\x00\x00\x00\x08\x00\x00\xf0\x00\x00\x01\x00\x01\x01\xe0"
	szl := "\x03\x00\x00\x21\x02\xf0\x80\x32\x07\x00\x00\x00\x00\x00\x08\x00\x08\x00\x01\x12\x04\x11\x44\x01\x00\xff\x09\x00\x04\x00\x11\x00\x01"
	read := "\x03\x00\x00\x1f\x02\xf0\x80\x32\x01\x00\x00\x00\x02\x00\x0e\x00\x00\x04\x01\x12\x0a\x10\x02\x00\x10\x00\x01\x84\x00\x00\x00"
	servicetest.FuzzSession(f, r, S7Port, cr+setup+szl, cr+setup+read, cr+"\x03\x00\x00\x07\x02\xf0\x00", cr)
}
