package event

// artifactKeys are the fields that name a quarantined blob by its SHA-256:
// uploads and transcripts use "sha256", large HTTP bodies "body_sha256".
var artifactKeys = []string{"sha256", "body_sha256"}

// Artifacts returns the SHA-256 of every blob the event refers to, in
// lowercase hex. A field that is not 64 hex digits is ignored: it cannot
// name a quarantine file, whatever the event says.
func (e Event) Artifacts() []string {
	var out []string
	for _, k := range artifactKeys {
		s, _ := e.Fields[k].(string)
		if IsSHA256(s) {
			out = append(out, s)
		}
	}
	return out
}

// IsSHA256 reports whether s is a SHA-256 in lowercase hex.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
