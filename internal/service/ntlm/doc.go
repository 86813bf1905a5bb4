// Package ntlm is the server side of NTLMSSP (MS-NLMP) and of the SPNEGO
// wrapping SMB and LDAP put around it, as the Windows and Samba servers
// the deckies imitate speak them: a CHALLENGE with a fresh server
// challenge per exchange and the decky's names, version and time in its
// target information, and an AUTHENTICATE read into the user, domain,
// workstation and a crackable hashcat line (NetNTLMv1 5500, NetNTLMv2
// 5600). It never checks a password: a decky has none to check against,
// and every attempt is a failed logon.
package ntlm
