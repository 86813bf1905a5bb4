// Package bait is what a decky's services show of its bait: files with
// honey credentials (a shell history with a database login, a note with
// a password, configuration files with keys) for the emulated
// filesystem, FTP tree, SMB shares and mailboxes. Package bait/plan
// draws them from the topology; the services place them.
package bait

import "time"

// The places bait goes.
const (
	Shell = "shell" // the SSH and Telnet filesystem
	FTP   = "ftp"
	SMB   = "smb"
	Mail  = "mail" // IMAP and POP3 mailboxes
)

// Cred is one honey credential in a bait file.
type Cred struct {
	Principal string
	Secret    string
	// Target is what the bait says the credential opens
	// (mysql://10.0.0.5/app_prod).
	Target string
}

// File is one bait file.
type File struct {
	Place string
	// Path is absolute for shell and ftp, relative to the decky's first
	// bait share for smb, and the subject of a message for mail.
	Path    string
	Content []byte
	// Age is how long before now the file was last written.
	Age   time.Duration
	Mode  uint32 // permission bits (shell, ftp)
	Owner string // user owning it (shell, ftp)
	Creds []Cred
}

// placeOf maps a service to the bait place it serves.
var placeOf = map[string]string{"ssh": Shell, "telnet": Shell, "ftp": FTP, "smb": SMB, "imap": Mail, "pop3": Mail}

// PlaceOf returns the bait place a service serves ("" for none).
func PlaceOf(service string) string { return placeOf[service] }

// In returns the files of one place.
func In(files []File, place string) []File {
	var out []File
	for _, f := range files {
		if f.Place == place {
			out = append(out, f)
		}
	}
	return out
}
