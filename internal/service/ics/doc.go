// Package ics imitates an industrial controller on a plant network: a
// Modbus/TCP server (502) and Siemens S7comm over ISO-on-TCP (102), as the
// persona's PLC answers them. Behind both protocols is one bait process, a
// water treatment station whose readings drift over time as a function of
// the clock and the decky's seed, so two reads agree and a long poll shows
// a live plant; writes are recorded and stay written, as on a PLC without
// access protection. nmap's modbus-discover and s7-info scripts, and S7 and
// Modbus clients, get the persona's identity: order numbers, firmware,
// serial numbers seeded per decky (never conpot's well-known defaults).
package ics
