package mailbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/persona"
)

// Message is one message of a bait mailbox.
type Message struct {
	UID      uint32
	Raw      []byte // RFC 5322, CRLF line ends
	Internal time.Time
	Seen     bool
	Subject  string
	From     string
}

// Bounds on seeded mail.
const (
	maxSeedFiles   = 200
	maxSeedMessage = 4 << 20
)

// Box builds the mailboxes of one decky: believable mail that differs from
// decky to decky and user to user but is the same for one user across
// connections, plus the operator's seed messages.
type Box struct {
	id     persona.Identity
	host   string
	domain string
	now    time.Time
	seed   []Message
	bait   []bait.File
}

// AddBait adds messages with honey credentials (package bait) to every
// mailbox: each file is a message, its path the subject.
func (b *Box) AddBait(files []bait.File) { b.bait = append(b.bait, files...) }

// NewBox makes the mailboxes of a decky whose mail host is host, as of now.
// Seed messages are read from dir when it is set; a seed that cannot be
// read is reported and left out.
func NewBox(id persona.Identity, host string, now time.Time, dir string) (*Box, error) {
	b := &Box{id: id, host: host, domain: host, now: now}
	if _, parent, ok := strings.Cut(host, "."); ok && strings.Contains(parent, ".") {
		b.domain = parent
	}
	if dir == "" {
		return b, nil
	}
	seed, err := readSeed(dir, now)
	b.seed = seed
	return b, err
}

// Domain is the mail domain the bait is addressed in.
func (b *Box) Domain() string { return b.domain }

// For returns user's mailbox, oldest first, UIDs from 1.
func (b *Box) For(user string) []Message {
	user = strings.ToLower(user)
	if at := strings.IndexByte(user, '@'); at > 0 {
		user = user[:at]
	}
	r := b.id.Rand("mailbox:" + user)
	people := staff(r, b.domain)
	msgs := make([]Message, 0, len(baits)+len(b.seed))
	for _, mk := range baits {
		if r.IntN(5) == 0 { // not every mailbox has every message
			continue
		}
		age := time.Duration(r.IntN(40*24*60)) * time.Minute
		when := b.now.Add(-age).Truncate(time.Second)
		from := people[r.IntN(len(people))]
		subject, body := mk(r, b.domain, from)
		msgs = append(msgs, Message{Raw: b.compose(r, from, user, subject, body, when), Internal: when.Add(time.Duration(2+r.IntN(20)) * time.Second),
			Seen: age > 36*time.Hour, Subject: subject, From: from.addr})
	}
	for _, f := range b.bait {
		when := b.now.Add(-f.Age).Truncate(time.Second)
		from := people[r.IntN(len(people))]
		msgs = append(msgs, Message{Raw: b.compose(r, from, user, f.Path, string(f.Content), when), Internal: when.Add(time.Duration(2+r.IntN(20)) * time.Second),
			Seen: true, Subject: f.Path, From: from.addr})
	}
	msgs = append(msgs, b.seed...)
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Internal.Before(msgs[j].Internal) })
	for i := range msgs {
		msgs[i].UID = uint32(i + 1)
	}
	return msgs
}

type person struct{ name, addr, first string }

var (
	firstNames = []string{"Anna", "Marc", "Julia", "Tomasz", "Sofia", "David", "Laura", "Kevin", "Ines", "Peter", "Nadia", "Oliver", "Chloe", "Samuel", "Elena", "Martin"}
	lastNames  = []string{"Keller", "Novak", "Garcia", "Brennan", "Schmidt", "Rossi", "Fischer", "Walsh", "Moreau", "Lindqvist", "Costa", "Hughes", "Meyer", "Duarte"}
)

func staff(r *rand.Rand, domain string) []person {
	out := make([]person, 6)
	for i := range out {
		f, l := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		out[i] = person{name: f + " " + l, first: f, addr: strings.ToLower(f[:1]+"."+l) + "@" + domain}
	}
	return out
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func token(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func password(r *rand.Rand) string {
	words := []string{"Summer", "Winter", "Falcon", "Harbor", "Maple", "Orbit", "Copper", "Delta"}
	return words[r.IntN(len(words))] + fmt.Sprint(2019+r.IntN(8)) + []string{"!", "#", "$", "?"}[r.IntN(4)]
}

// baits are the message kinds a mailbox draws from: each gives a subject
// and a plain-text body.
var baits = []func(r *rand.Rand, domain string, from person) (string, string){
	func(r *rand.Rand, d string, f person) (string, string) {
		return "VPN access for your new laptop", fmt.Sprintf("Hi,\n\nyour VPN account is ready.\n\nGateway: vpn.%s\nUser: %s\nTemporary password: %s\n\nPlease change it at first login.\n\nThanks,\n%s\nIT Service Desk\n", d, token(r, "abcdefghijklmnopqrstuvwxyz", 6), password(r), f.first)
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return "Re: prod database migration", fmt.Sprintf("The new cluster is up. Connection string for the app:\n\n  postgresql://svc_app:%s@db01.%s:5432/app_prod\n\nRead replica is db02, same credentials. Don't paste this in Slack.\n\n%s\n", token(r, alnum, 18), d, f.first)
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return "Access keys rotated (backup bucket)", fmt.Sprintf("Rotated the keys used by the nightly backup job:\n\naws_access_key_id = AKIA%s\naws_secret_access_key = %s\nregion = eu-central-1\n\nOld keys are disabled since this morning.\n\n-- \n%s\n", token(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), token(r, alnum+"+/", 40), f.name)
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		n := 2400 + r.IntN(7000)
		return fmt.Sprintf("Invoice INV-%d overdue", n), fmt.Sprintf("Dear customer,\n\nour records show invoice INV-%d (EUR %d.%02d) is 14 days overdue.\nPlease arrange payment to the account on file.\n\nKind regards,\nAccounts receivable\n", n, 800+r.IntN(9000), r.IntN(100))
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return "Your password expires in 3 days", fmt.Sprintf("Your domain password expires in 3 days.\nChange it at https://sso.%s/account before it does, or call the service desk on ext. %d.\n\nIT Security\n", d, 2000+r.IntN(900))
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return "Backup report: OK", fmt.Sprintf("Job nightly-full finished.\n\nHost: fs01.%s\nFiles: %d\nSize: %d.%d GB\nDuration: %dm\nTarget: s3://%s-backup/fs01/\n", d, 90000+r.IntN(900000), 100+r.IntN(800), r.IntN(10), 20+r.IntN(100), strings.SplitN(d, ".", 2)[0])
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return "deploy token for the CI runner", fmt.Sprintf("Here is the token for the runner, scope repo + packages:\n\nghp_%s\n\nIt expires end of quarter. Put it in the vault, not in the pipeline file.\n\n%s\n", token(r, alnum, 36), f.first)
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return "Guest Wi-Fi this week", fmt.Sprintf("Guest network: %s-Guest\nPassword: %s\n\nIt changes every Monday.\n\nFacilities\n", strings.ToUpper(strings.SplitN(d, ".", 2)[0]), password(r))
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return "Team lunch Friday", fmt.Sprintf("Hi all,\n\nlunch on Friday at 12:30, table for %d is booked. Reply if you can't make it.\n\n%s\n", 6+r.IntN(8), f.first)
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return fmt.Sprintf("Q%d board deck - draft", 1+r.IntN(4)), fmt.Sprintf("Draft attached on the share: \\\\fs01.%s\\finance\\board\\\nNumbers are not final, please don't forward.\n\n%s\n", d, f.name)
	},
	func(r *rand.Rand, d string, f person) (string, string) {
		return "root password for the new firewall", fmt.Sprintf("fw01.%s is racked. Console and web UI:\n\nuser: admin\npass: %s\n\nI'll move it into the password manager tomorrow.\n\n%s\n", d, token(r, alnum, 14), f.first)
	},
}

// compose writes one message as the mail host would have delivered it.
func (b *Box) compose(r *rand.Rand, from person, user, subject, body string, when time.Time) []byte {
	var m bytes.Buffer
	queue := strings.ToUpper(token(r, "0123456789abcdef", 10))
	fmt.Fprintf(&m, "Return-Path: <%s>\r\n", from.addr)
	fmt.Fprintf(&m, "Delivered-To: %s@%s\r\n", user, b.domain)
	fmt.Fprintf(&m, "Received: from ws%02d.%s (ws%02d.%s [10.%d.%d.%d])\r\n\tby %s (Postfix) with ESMTPS id %s\r\n\tfor <%s@%s>; %s\r\n",
		r.IntN(60), b.domain, r.IntN(60), b.domain, r.IntN(20), r.IntN(255), 2+r.IntN(250), b.host, queue, user, b.domain, when.Add(time.Second).Format(time.RFC1123Z))
	fmt.Fprintf(&m, "Date: %s\r\n", when.Format(time.RFC1123Z))
	fmt.Fprintf(&m, "From: %s <%s>\r\n", from.name, from.addr)
	fmt.Fprintf(&m, "To: %s@%s\r\n", user, b.domain)
	fmt.Fprintf(&m, "Subject: %s\r\n", subject)
	fmt.Fprintf(&m, "Message-ID: <%s.%s@%s>\r\n", when.Format("20060102150405"), token(r, "0123456789abcdef", 12), b.domain)
	m.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
	m.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return m.Bytes()
}

// seedJSON is one message of a JSON seed file.
type seedJSON struct {
	FromAddr string `json:"from_addr"`
	FromName string `json:"from_name"`
	ToAddr   string `json:"to_addr"`
	Subject  string `json:"subject"`
	Body     string `json:"body"`
	Date     string `json:"date"`
}

// readSeed reads the seed directory's .eml and .json files.
func readSeed(dir string, now time.Time) ([]Message, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mailbox: email_seed: %w", err)
	}
	var out []Message
	var bad []string
	for i, e := range entries {
		if i >= maxSeedFiles {
			break
		}
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > maxSeedMessage {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			bad = append(bad, e.Name())
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".eml":
			if m, ok := parseEML(data, info.ModTime()); ok {
				out = append(out, m)
			} else {
				bad = append(bad, e.Name())
			}
		case ".json":
			var list []seedJSON
			if json.Unmarshal(data, &list) != nil {
				bad = append(bad, e.Name())
				continue
			}
			for _, s := range list {
				out = append(out, fromJSON(s, now))
			}
		}
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("mailbox: email_seed: unreadable: %s", strings.Join(bad, ", "))
	}
	return out, nil
}

// crlf gives a message CRLF line ends throughout.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

func parseEML(data []byte, mod time.Time) (Message, bool) {
	raw := crlf(data)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, false
	}
	when := mod
	if d, err := msg.Header.Date(); err == nil {
		when = d
	}
	return Message{Raw: raw, Internal: when, Seen: true, Subject: msg.Header.Get("Subject"), From: msg.Header.Get("From")}, true
}

func fromJSON(s seedJSON, now time.Time) Message {
	when := now.Add(-48 * time.Hour)
	if d, err := mail.ParseDate(s.Date); err == nil {
		when = d
	} else if d, err := time.Parse(time.RFC3339, s.Date); err == nil {
		when = d
	}
	from := s.FromAddr
	if s.FromName != "" {
		from = (&mail.Address{Name: s.FromName, Address: s.FromAddr}).String()
	}
	var m bytes.Buffer
	fmt.Fprintf(&m, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n", when.Format(time.RFC1123Z), oneLine(from), oneLine(s.ToAddr), oneLine(s.Subject))
	m.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	m.Write(crlf([]byte(s.Body)))
	return Message{Raw: m.Bytes(), Internal: when, Seen: true, Subject: s.Subject, From: s.FromAddr}
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// UIDValidity is the UIDVALIDITY of user's INBOX: stable for the decky,
// a believable mailbox creation time.
func (b *Box) UIDValidity(user string) uint32 {
	return uint32(b.id.Rand("uidvalidity:"+strings.ToLower(user)).IntN(1<<28)) + 1_600_000_000
}
