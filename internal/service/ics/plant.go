package ics

import (
	"math"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// Table sizes: what the PLC maps to Modbus. Past them a request gets
// ILLEGAL DATA ADDRESS.
const (
	numCoils     = 2000
	numRegisters = 1000
)

// signal is a process reading: base plus a slow swing and a faster
// ripple, so two reads a second apart agree and an hour of polling shows
// a plant at work.
type signal struct {
	tag             string
	base, amplitude float64
	period          time.Duration
	phase           float64
	scale           float64 // register value = reading * scale
}

func (s signal) at(t time.Time) float64 {
	x := float64(t.UnixNano()) / float64(s.period)
	ripple := 0.02 * s.amplitude * math.Sin(2*math.Pi*x*17+s.phase)
	return s.base + s.amplitude*math.Sin(2*math.Pi*x+s.phase) + ripple
}

// plant is the water treatment station behind both protocols: inputs
// that drift, setpoints and pump commands that stay as written.
type plant struct {
	now     func() time.Time
	signals []signal // input registers 0.., and DB1 REALs
	mu      sync.Mutex
	holding [numRegisters]uint16
	coils   [numCoils]bool
	setTags []string // holding register tags
	memory  map[string][]byte
}

func newPlant(id persona.Identity, now func() time.Time) *plant {
	r := id.Rand("ics-plant")
	jitter := func(v float64) float64 { return v * (0.85 + 0.3*r.Float64()) }
	p := &plant{now: now, memory: map[string][]byte{}}
	p.signals = []signal{
		{"Tank1_Level_cm", jitter(320), 60, 47 * time.Minute, r.Float64() * 6, 1},
		{"Inflow_ls", jitter(41), 9, 13 * time.Minute, r.Float64() * 6, 10},
		{"Outflow_ls", jitter(39), 8, 17 * time.Minute, r.Float64() * 6, 10},
		{"Line_Pressure_bar", jitter(4.2), 0.4, 9 * time.Minute, r.Float64() * 6, 100},
		{"Water_Temp_C", jitter(11.5), 1.2, 6 * time.Hour, r.Float64() * 6, 10},
		{"pH", 7.2 + r.Float64()*0.3, 0.08, 31 * time.Minute, r.Float64() * 6, 100},
		{"Chlorine_mgl", jitter(0.45), 0.06, 23 * time.Minute, r.Float64() * 6, 100},
		{"Turbidity_NTU", jitter(0.3), 0.1, 41 * time.Minute, r.Float64() * 6, 100},
		{"Pump1_Current_A", jitter(18), 1.5, 7 * time.Minute, r.Float64() * 6, 10},
		{"Pump2_Current_A", jitter(17), 1.5, 11 * time.Minute, r.Float64() * 6, 10},
		{"Pump1_Speed_rpm", jitter(1470), 20, 5 * time.Minute, r.Float64() * 6, 1},
		{"Pump2_Speed_rpm", jitter(1465), 20, 8 * time.Minute, r.Float64() * 6, 1},
	}
	p.setTags = []string{"Tank1_Level_SP_cm", "Tank1_High_Alarm_cm", "Tank1_Low_Alarm_cm", "Pump1_Speed_SP_pct",
		"Pump2_Speed_SP_pct", "Chlorine_Dose_SP_mgl_x100", "Pressure_SP_bar_x100", "Mode_Auto"}
	for i, v := range []uint16{uint16(jitter(350)), 450, 80, uint16(70 + r.IntN(20)), uint16(65 + r.IntN(20)), 50, 420, 1} {
		p.holding[i] = v
	}
	p.coils[0], p.coils[1], p.coils[8] = true, r.IntN(2) == 0, true // pumps, inlet valve
	return p
}

// input is input register i now.
func (p *plant) input(i int) uint16 {
	if i >= len(p.signals) {
		return 0
	}
	v := p.signals[i].at(p.now()) * p.signals[i].scale
	return uint16(max(0, min(65535, math.Round(v))))
}

// discrete is discrete input i: alarms derived from the readings.
func (p *plant) discrete(i int) bool {
	switch i {
	case 0: // tank high
		return float64(p.input(0)) > float64(p.readHolding(1))
	case 1: // tank low
		return float64(p.input(0)) < float64(p.readHolding(2))
	case 4, 5: // pumps running feedback
		return p.readCoil(i - 4)
	}
	return false
}

func (p *plant) readHolding(i int) uint16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holding[i]
}

func (p *plant) readCoil(i int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.coils[i]
}

func (p *plant) writeHolding(start int, v []uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	copy(p.holding[start:], v)
}

func (p *plant) writeCoils(start int, v []bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	copy(p.coils[start:], v)
}

// tag names the holding register or coil at address.
func (p *plant) tag(table string, address int) string {
	switch {
	case table == "holding_registers" && address < len(p.setTags):
		return p.setTags[address]
	case table == "coils" && address < 2:
		return []string{"Pump1_Run", "Pump2_Run"}[address]
	case table == "coils" && address == 8:
		return "Inlet_Valve_Open"
	}
	return ""
}
