package event

// Catalogue is every event type DECNET emits, with its severity (0 info,
// 1 low, 2 medium, 3 high, 4 critical). Types are append-only and their
// meaning never changes; docs/events.md lists them and a test keeps the
// two in step.
var Catalogue = map[string]int{}

func init() {
	sessions := []string{"ssh", "telnet", "http", "ftp", "redis", "mysql"}
	for _, ns := range sessions {
		Catalogue[ns+".session.open"] = 0
		Catalogue[ns+".session.close"] = 0
		Catalogue[ns+".session.rejected"] = 1
		Catalogue[ns+".protocol.error"] = 1
		Catalogue[ns+".login.failed"] = 2
		Catalogue[ns+".login.success"] = 3
	}
	for t, sev := range map[string]int{
		"ssh.client.version":      1,
		"ssh.client.kex":          1,
		"ssh.channel.request":     1,
		"ssh.command.input":       3,
		"ssh.forward.request":     3,
		"ssh.file.upload":         3,
		"ssh.file.fetch":          3,
		"ssh.transcript.saved":    0,
		"ssh.file.download":       2,
		"telnet.client.negotiate": 1,
		"telnet.command.input":    3,
		"telnet.file.fetch":       3,
		"telnet.transcript.saved": 0,
		"http.request.received":   1,
		"http.tls.handshake":      1,
		"http.file.upload":        3,
		"ftp.command.input":       2,
		"ftp.file.download":       3,
		"ftp.file.upload":         3,
		"redis.command.input":     2,
		"mysql.client.hello":      1,
		"redis.file.upload":       3,
		"redis.exploit.attempt":   4,
		"ftp.exploit.attempt":     4,
		"decky.lifecycle.started": 0,
		"decky.lifecycle.stopped": 0,
		"system.events.dropped":   3,
	} {
		Catalogue[t] = sev
	}
}

// Known reports whether t is in the catalogue.
func Known(t string) bool {
	_, ok := Catalogue[t]
	return ok
}
