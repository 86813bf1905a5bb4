package mqtt

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// bait is one retained topic the broker holds: its value moves with time
// (a function of the moment, so every subscriber sees the same story).
type bait struct {
	topic string
	value func(now time.Time) string
	// live topics are republished every sysInterval to subscribers, as a
	// sensor reports.
	live bool
}

// wave is a reading that drifts around base by amp over period, seeded,
// with a little deterministic jitter every 30 s.
func wave(id persona.Identity, key string, base, amp float64, period time.Duration, decimals int) func(time.Time) float64 {
	r := id.Rand("mqtt-wave-" + key)
	phase := r.Float64() * 2 * math.Pi
	jitter := r.Float64()
	return func(now time.Time) float64 {
		t := float64(now.Unix())
		j := math.Sin(float64(now.Unix()/30)*12.9898+jitter*78.233) * amp * 0.05
		v := base + amp*math.Sin(2*math.Pi*t/period.Seconds()+phase) + j
		p := math.Pow(10, float64(decimals))
		return math.Round(v*p) / p
	}
}

func num(f func(time.Time) float64) func(time.Time) string {
	return func(t time.Time) string { return strconv.FormatFloat(f(t), 'f', -1, 64) }
}

func fixed(s string) func(time.Time) string { return func(time.Time) string { return s } }

// personaTopics returns the bait topic set of a persona setting.
func personaTopics(id persona.Identity, set string, hostname string) []bait {
	r := id.Rand("mqtt-topics")
	site := []string{"north", "riverside", "plant2", "eastfield", "harbor", "hillcrest"}[r.IntN(6)]
	switch set {
	case "home_automation":
		return homeTopics(id, r.IntN(1<<24))
	case "building_hvac":
		b := "bldg-" + strconv.Itoa(1+r.IntN(9))
		return []bait{
			{topic: "bms/" + b + "/ahu1/supply_air_temp", value: num(wave(id, "sat", 13.5, 1.2, 40*time.Minute, 1)), live: true},
			{topic: "bms/" + b + "/ahu1/return_air_temp", value: num(wave(id, "rat", 22.5, 1.5, 3*time.Hour, 1)), live: true},
			{topic: "bms/" + b + "/ahu1/fan_speed_pct", value: num(wave(id, "fan", 65, 15, time.Hour, 0)), live: true},
			{topic: "bms/" + b + "/ahu1/setpoint", value: fixed("21.5")},
			{topic: "bms/" + b + "/ahu1/mode", value: fixed("auto")},
			{topic: "bms/" + b + "/chiller1/status", value: fixed("running")},
			{topic: "bms/" + b + "/chiller1/leaving_water_temp", value: num(wave(id, "lwt", 6.7, 0.4, 90*time.Minute, 1)), live: true},
			{topic: "bms/" + b + "/boiler1/status", value: fixed("standby")},
			{topic: "bms/" + b + "/floor3/zone2/co2_ppm", value: num(wave(id, "co2", 620, 180, 8*time.Hour, 0)), live: true},
			{topic: "bms/" + b + "/controller/firmware", value: fixed("JCI-NAE55 v10.1.2")},
		}
	case "solar_farm":
		p := "solar/" + site
		return []bait{
			{topic: p + "/inverter01/ac_power_kw", value: num(solarPower(id, "inv1", 480)), live: true},
			{topic: p + "/inverter02/ac_power_kw", value: num(solarPower(id, "inv2", 480)), live: true},
			{topic: p + "/inverter01/dc_voltage", value: num(wave(id, "dcv", 780, 40, 2*time.Hour, 1)), live: true},
			{topic: p + "/inverter01/status", value: fixed("grid-connected")},
			{topic: p + "/meter/grid_frequency_hz", value: num(wave(id, "hz", 50, 0.03, 7*time.Minute, 3)), live: true},
			{topic: p + "/meter/export_energy_kwh", value: func(t time.Time) string { return strconv.FormatInt(1824000+t.Unix()/20%10000000, 10) }, live: true},
			{topic: p + "/weather/irradiance_wm2", value: num(solarPower(id, "irr", 950)), live: true},
			{topic: p + "/scada/gateway", value: fixed(`{"model":"SMA Cluster Controller","fw":"1.2.56.R"}`)},
		}
	case "factory_line":
		p := "factory/line" + strconv.Itoa(1+r.IntN(4))
		return []bait{
			{topic: p + "/plc1/status", value: fixed("RUN")},
			{topic: p + "/plc1/model", value: fixed("Siemens S7-1500 CPU 1515-2 PN")},
			{topic: p + "/plc1/tags/Conveyor_Speed", value: num(wave(id, "conv", 1.2, 0.05, 20*time.Minute, 2)), live: true},
			{topic: p + "/plc1/tags/Motor1_Temp", value: num(wave(id, "motor", 58, 6, time.Hour, 1)), live: true},
			{topic: p + "/plc1/tags/Parts_Count", value: func(t time.Time) string { return strconv.FormatInt(t.Unix()/9%1000000, 10) }, live: true},
			{topic: p + "/plc1/tags/Emergency_Stop", value: fixed("false")},
			{topic: p + "/robot2/state", value: fixed("AUTO")},
			{topic: p + "/oee", value: num(wave(id, "oee", 0.81, 0.05, 6*time.Hour, 3)), live: true},
		}
	case "custom":
		return nil
	}
	p := "plant/" + site
	return []bait{
		{topic: p + "/intake/flow_m3h", value: num(wave(id, "flow", 420, 60, 6*time.Hour, 1)), live: true},
		{topic: p + "/intake/turbidity_ntu", value: num(wave(id, "ntu", 3.1, 0.8, 4*time.Hour, 2)), live: true},
		{topic: p + "/treatment/chlorine_mgl", value: num(wave(id, "cl", 1.2, 0.15, 2*time.Hour, 2)), live: true},
		{topic: p + "/treatment/ph", value: num(wave(id, "ph", 7.3, 0.15, 5*time.Hour, 2)), live: true},
		{topic: p + "/pumps/p101/state", value: fixed("RUNNING")},
		{topic: p + "/pumps/p101/rpm", value: num(wave(id, "rpm", 1480, 12, 15*time.Minute, 0)), live: true},
		{topic: p + "/pumps/p102/state", value: fixed("STANDBY")},
		{topic: p + "/reservoir/level_pct", value: num(wave(id, "lvl", 71, 9, 12*time.Hour, 1)), live: true},
		{topic: p + "/plc/main/tags/HighLevelAlarm", value: fixed("0")},
		{topic: p + "/plc/main/info", value: fixed(`{"vendor":"Rockwell Automation","model":"CompactLogix 5380","fw":"33.011"}`)},
	}
}

// solarPower follows the sun: zero at night, a noon peak of max.
func solarPower(id persona.Identity, key string, max float64) func(time.Time) float64 {
	cloud := wave(id, key+"-cloud", 0.85, 0.1, 50*time.Minute, 3)
	return func(t time.Time) float64 {
		h := float64(t.Hour()) + float64(t.Minute())/60
		sun := math.Sin(math.Pi * (h - 6) / 13)
		if sun <= 0 {
			return 0
		}
		return math.Round(max*sun*cloud(t)*10) / 10
	}
}

func homeTopics(id persona.Identity, dev int) []bait {
	tas := fmt.Sprintf("tasmota_%06X", dev)
	temp := wave(id, "living", 21.3, 1.4, 5*time.Hour, 2)
	hum := wave(id, "hum", 46, 6, 7*time.Hour, 1)
	bat := 60 + id.Rand("mqtt-bat").IntN(40)
	power := wave(id, "plug", 64, 20, 30*time.Minute, 0)
	sensor := func(t time.Time) string {
		b, _ := json.Marshal(map[string]any{"battery": bat, "humidity": hum(t), "linkquality": 110 + t.Unix()/60%30, "temperature": temp(t), "voltage": 2900 + bat})
		return string(b)
	}
	return []bait{
		{topic: "zigbee2mqtt/bridge/state", value: fixed(`{"state":"online"}`)},
		{topic: "zigbee2mqtt/bridge/info", value: fixed(`{"commit":"b3e5a2b","config":{"advanced":{"log_level":"info","pan_id":6754},"permit_join":false},"coordinator":{"meta":{"maintrel":1,"majorrel":2,"minorrel":7,"product":1,"revision":20230507,"transportrev":2},"type":"zStack3x0"},"log_level":"info","network":{"channel":11,"extended_pan_id":"0xdddddddddddddddd","pan_id":6754},"permit_join":false,"version":"1.35.1"}`)},
		{topic: "zigbee2mqtt/living_room_sensor", value: sensor, live: true},
		{topic: "zigbee2mqtt/front_door", value: fixed(fmt.Sprintf(`{"battery":%d,"contact":true,"linkquality":87,"tamper":false,"voltage":3005}`, 50+bat/2))},
		{topic: "zigbee2mqtt/garage_door_lock", value: fixed(`{"linkquality":76,"lock_state":"locked","state":"LOCK"}`)},
		{topic: "homeassistant/sensor/living_room_sensor/temperature/config", value: fixed(`{"device_class":"temperature","name":"Living room temperature","state_topic":"zigbee2mqtt/living_room_sensor","unit_of_measurement":"°C","value_template":"{{ value_json.temperature }}"}`)},
		{topic: "homeassistant/lock/garage_door_lock/config", value: fixed(`{"command_topic":"zigbee2mqtt/garage_door_lock/set","name":"Garage door","state_topic":"zigbee2mqtt/garage_door_lock"}`)},
		{topic: "tele/" + tas + "/LWT", value: fixed("Online")},
		{topic: "stat/" + tas + "/POWER", value: fixed("ON")},
		{topic: "tele/" + tas + "/SENSOR", value: func(t time.Time) string {
			return fmt.Sprintf(`{"Time":"%s","ENERGY":{"TotalStartTime":"2023-11-02T18:40:11","Total":%.3f,"Power":%.0f,"Voltage":231,"Current":%.3f}}`,
				t.Format("2006-01-02T15:04:05"), float64(t.Unix()/3600%100000)/10, power(t), power(t)/231)
		}, live: true},
	}
}

// customTopics turns the custom_topics setting into fixed retained topics.
func customTopics(m map[string]any) []bait {
	var out []bait
	for topic, v := range m {
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		out = append(out, bait{topic: topic, value: fixed(s)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].topic < out[j].topic })
	return out
}

// sysTopics are Mosquitto 2.0's $SYS tree, published every sys_interval
// (10 s): the version, uptime, client counts, load averages and totals.
func (b *Broker) sysTopics(now time.Time) []bait {
	up := b.uptime(now)
	connected := b.baseClients + b.active.Load()
	load := func(rate float64) string { return strconv.FormatFloat(math.Round(rate*100)/100, 'f', 2, 64) }
	msgsRate := float64(b.baseClients) * 0.9
	secs := int64(up.Seconds())
	total := func(rate float64) string { return strconv.FormatInt(int64(rate*float64(secs)), 10) }
	retained := strconv.Itoa(len(b.baits) + 52)
	sys := [][2]string{
		{"version", "mosquitto version 2.0.11"},
		{"uptime", strconv.FormatInt(secs, 10) + " seconds"},
		{"clients/total", strconv.FormatInt(connected, 10)},
		{"clients/inactive", "0"},
		{"clients/disconnected", "0"},
		{"clients/active", strconv.FormatInt(connected, 10)},
		{"clients/connected", strconv.FormatInt(connected, 10)},
		{"clients/expired", "0"},
		{"clients/maximum", strconv.FormatInt(b.baseClients+2, 10)},
	}
	for _, k := range []string{"messages/received", "messages/sent", "publish/dropped", "publish/received", "publish/sent", "bytes/received", "bytes/sent", "sockets", "connections"} {
		rate := msgsRate * 60
		switch {
		case strings.HasPrefix(k, "bytes"):
			rate *= 48
		case k == "publish/dropped":
			rate = 0
		case k == "sockets" || k == "connections":
			rate = 0.1
		}
		for _, w := range []string{"1min", "5min", "15min"} {
			sys = append(sys, [2]string{"load/" + k + "/" + w, load(rate)})
		}
	}
	sys = append(sys,
		[2]string{"messages/stored", retained},
		[2]string{"messages/received", total(msgsRate)},
		[2]string{"messages/sent", total(msgsRate * 1.1)},
		[2]string{"store/messages/count", retained},
		[2]string{"store/messages/bytes", strconv.Itoa(len(b.baits)*40 + 195)},
		[2]string{"subscriptions/count", strconv.FormatInt(b.baseClients*2, 10)},
		[2]string{"shared_subscriptions/count", "0"},
		[2]string{"retained messages/count", retained},
		[2]string{"heap/current", strconv.Itoa(43072 + len(b.baits)*512)},
		[2]string{"heap/maximum", strconv.Itoa(49864 + len(b.baits)*512)},
		[2]string{"publish/messages/dropped", "0"},
		[2]string{"publish/messages/received", total(msgsRate * 0.8)},
		[2]string{"publish/messages/sent", total(msgsRate)},
		[2]string{"publish/bytes/received", total(msgsRate * 30)},
		[2]string{"publish/bytes/sent", total(msgsRate * 33)},
		[2]string{"bytes/received", total(msgsRate * 48)},
		[2]string{"bytes/sent", total(msgsRate * 52)},
	)
	out := make([]bait, len(sys))
	for i, kv := range sys {
		out[i] = bait{topic: "$SYS/broker/" + kv[0], value: fixed(kv[1]), live: true}
	}
	return out
}
