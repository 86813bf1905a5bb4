// Package mqtt emulates an MQTT broker on 1883: Mosquitto 2.0.11, the
// version Debian 12 packages, with retained bait topics.
//
// # What it emulates
//
// MQTT 3.1 (MQIsdp, level 3), 3.1.1 (level 4) and 5.0: CONNECT and CONNACK
// byte for byte as Mosquitto 2.0.11 answers them (checked side by side):
// return code 5 (3.x) or reason 0x87 (5.0) for an anonymous client when
// anonymous access is off and for a wrong username or password; code 1 for
// an unknown protocol level (in 3.1.1's format, whatever the level); a
// silent close for an unknown protocol name or a first byte that is not a
// CONNECT's; code 2 for an empty client id without clean session in 3.1.1;
// an assigned "auto-<UUID>" client id in 5.0, and 5.0's CONNACK properties
// (topic alias maximum 10, receive maximum 20). Then SUBSCRIBE/SUBACK
// (granted QoS as requested, 0x80/0x8F for an invalid filter), UNSUBSCRIBE/
// UNSUBACK (5.0 reason 0x11 for a filter that had no subscription), PUBLISH
// with QoS 0, 1 (PUBACK) and 2 (PUBREC, PUBREL, PUBCOMP), PINGREQ/PINGRESP
// and DISCONNECT. The keep alive is honoured as Mosquitto does: no packet
// for 1.5 times it closes the connection; a connection that never sends
// CONNECT is closed after a minute.
//
// The broker holds retained topics: Mosquitto's $SYS tree (version
// "mosquitto version 2.0.11", uptime from the decky's seeded uptime, client
// counts including the connected attacker, load averages, totals) and a
// bait set chosen by the persona setting: home automation (zigbee2mqtt
// bridge and devices, Home Assistant discovery, a Tasmota plug), a water
// plant, building HVAC, a solar farm or a factory line (PLC tags). Values
// are functions of time seeded per decky, so every client sees the same
// plausible story; live topics are republished every 10 s to subscribers,
// as sensors report and as Mosquitto's sys_interval republishes $SYS. A
// subscription with "#" does not receive $SYS (MQTT 4.7.2).
//
// Isolation: an attacker's messages are delivered back to its own matching
// subscriptions, and its retained messages are kept for its own session
// only (64 at most): one attacker never sees another's messages, so the
// decky cannot be used to relay between clients, and nothing an attacker
// sends persists.
//
// Bounds: 256 KiB per packet (remaining length), 64 subscriptions per
// client (then 0x80 / 0x97 quota exceeded), 64 retained messages per
// client, serve.TCP's per-source and total connection limits and idle
// timeout.
//
// # Persona fields used
//
// Persona.Archetype picks the bait set when persona is auto (iot-device:
// home automation; industrial-control: factory line; else water plant).
// Identity seeds the values, the site names, the device ids, the baseline
// client count and the broker's start after boot (Identity.Uptime).
//
// # Config keys
//
//   - allow_anonymous: accept a CONNECT without username (default true:
//     Mosquitto 2.0 refuses anonymous clients unless configured to, and a
//     broker listening on a LAN address with bait data is most often the
//     anonymous kind attackers look for; set false for a password-only
//     broker, answered as Mosquitto does).
//   - creds: user:password pairs accepted (a password file); any other
//     username is refused with "not authorised".
//   - accept_all: accept every CONNECT whatever its credentials.
//   - persona: auto, home_automation, water_plant, building_hvac,
//     solar_farm, factory_line or custom (only custom_topics).
//   - custom_topics: extra retained topics {topic: payload}.
//
// # Events emitted
//
//   - mqtt.login.success / mqtt.login.failed: every CONNECT with client
//     id, protocol and level, keep alive, clean session, will topic and
//     payload, the code sent, and the credential (plaintext; absent for an
//     anonymous CONNECT).
//   - mqtt.message.publish: every PUBLISH (topic, QoS, retain, dup, size,
//     payload as capped text and as base64 up to 64 KiB).
//   - mqtt.subscription.add / mqtt.subscription.remove: SUBSCRIBE and
//     UNSUBSCRIBE filters.
//   - mqtt.protocol.error: a malformed packet (then the close).
//
// # Known tells and how we avoid them
//
//   - The original acknowledged every SUBSCRIBE with QoS 1 and sent no
//     $SYS: here the SUBACK grants what was asked and $SYS is Mosquitto's.
//   - nmap 7.93 names both this broker and a real Mosquitto "mqtt" with no
//     version (tested side by side).
//   - Not emulated: persistent sessions (session present is always 0),
//     v5 AUTH (enhanced authentication is refused with 0x8C), topic
//     aliases sent by the client are accepted but not resolved, shared
//     subscriptions are treated as ordinary filters, wills are recorded
//     but never published, $SYS load averages are not recomputed from real
//     traffic.
package mqtt
