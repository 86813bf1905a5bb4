// Package vnc imitates a VNC server as TigerVNC's Xvnc (Debian's
// tigervnc-standalone-server) answers: RFB 3.3, 3.7 and 3.8, the security
// types [VeNCrypt, VncAuth] with VeNCrypt's subtypes, the "Authentication
// failure" results and the blacklist that locks a source out after five
// security failures. Every VNC authentication response is captured with
// its fresh challenge as a John the Ripper line, and checked against a
// short list of the passwords VNC servers are left with. A persona without
// authentication shows a locked desktop under a believable name and
// records the keys and clipboard text typed at it.
package vnc
