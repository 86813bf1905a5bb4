package ics

import (
	"fmt"

	"github.com/decnet/decnet/internal/persona"
)

// device is what a template makes the controller say of itself.
type device struct {
	vendor, product, productCode, revision, url string
	// deviceID answers Modbus FC 43/14; slaveID answers FC 17 with
	// these bytes (both nil: ILLEGAL FUNCTION, as an S7-1200's
	// MB_SERVER answers).
	deviceID bool
	slaveID  []byte
	// s7 is nil when port 102 is not the PLC's.
	s7 *s7Identity
}

// s7Identity is what SZL 0x0011 and 0x001C tell.
type s7Identity struct {
	order      string  // module order number (MLFB)
	hardware   string  // basic hardware order number
	firmware   [3]byte // V major.minor.patch
	moduleType string  // component identification: module type name
	station    string
	plant      string
	serial     string
	copyright  string
	pduSize    uint16
}

// newDevice builds the persona of a template, seeded per decky.
func newDevice(template, vendor, product, station string, id persona.Identity) (device, error) {
	r := id.Rand("ics-device")
	serial := fmt.Sprintf("S C-%c%c%c%08d", 'A'+r.IntN(26), 'A'+r.IntN(26), '0'+r.IntN(10), r.IntN(100000000))
	var d device
	switch template {
	case "", "siemens_s7_1200":
		d = device{vendor: "Siemens", product: "SIMATIC S7-1200", productCode: "6ES7 214-1AG40-0XB0", revision: "V4.4.0",
			s7: &s7Identity{order: "6ES7 214-1AG40-0XB0", hardware: "6ES7 214-1AG40-0XB0", firmware: [3]byte{4, 4, 0},
				moduleType: "CPU 1214C DC/DC/DC", serial: serial, copyright: "Original Siemens Equipment", pduSize: 240}}
	case "schneider_m221":
		d = device{vendor: "Schneider Electric", product: "Modicon M221", productCode: "TM221CE40R", revision: "V1.6.2.0",
			url: "www.schneider-electric.com", deviceID: true}
	case "generic_modbus":
		d = device{vendor: "Schneider Electric", product: "Modicon M340", productCode: "BMX P34 2020", revision: "v3.20",
			url: "www.schneider-electric.com", deviceID: true}
		d.slaveID = append([]byte{0x01, 0xff}, "BMX P34 2020"...)
	default:
		return d, fmt.Errorf("ics: template %q: want siemens_s7_1200, schneider_m221 or generic_modbus", template)
	}
	if vendor != "" {
		d.vendor = vendor
	}
	if product != "" {
		d.product = product
		if d.s7 != nil {
			d.s7.moduleType = product
		}
	}
	if d.s7 != nil {
		d.s7.station = station
		if station == "" {
			d.s7.station = fmt.Sprintf("%s_%d", []string{"PLC", "WTP_PLC", "PS", "Station"}[r.IntN(4)], 1+r.IntN(9))
		}
		d.s7.plant = []string{"Waterworks", "WTP North", "Pump station", "Reservoir"}[r.IntN(4)]
	}
	return d, nil
}
