// Package mailbox is what the mail access services (IMAP, POP3) share: the
// accounts they accept and the bait mail they serve.
package mailbox

// Settings are the settings of a mail access service.
type Settings struct {
	Users     []string `json:"users" doc:"Accepted user:password pairs"`
	EmailSeed string   `json:"email_seed" doc:"Host directory of bait messages (.eml or JSON)"`
}
