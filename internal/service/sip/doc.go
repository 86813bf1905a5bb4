// Package sip imitates a SIP endpoint on 5060 (UDP and TCP): an Asterisk
// PBX on chan_pjsip (or a FreePBX, which is one) that challenges every
// unidentified request with a Digest 401, as Asterisk does so that
// extensions cannot be enumerated, or a Yealink desk phone that answers
// OPTIONS and is busy for calls. Every Digest response is captured as a
// hashcat line (mode 11400) and checked against the configured accounts;
// INVITEs are recorded with the number dialled (the toll-fraud signal),
// and a source walking through extensions becomes one scan event.
package sip
