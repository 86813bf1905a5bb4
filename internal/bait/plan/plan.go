// Package plan draws the bait a decky carries (package bait).
//
// The plan is pure and deterministic: it derives from the topology's seed
// and the decky's name, so the decky runtime (which places the files) and
// the master (which records the credentials as honey credentials) compute
// the same bait without exchanging it, and a redeploy shows the same
// files. The credentials point at the topology's other deckies where it
// has them (the database decky's address in the history's mysql login),
// so an intruder who reads them goes on to try them there.
package plan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/topology"
)

// Places returns where decky d carries bait: its Bait list, or every
// place among its services.
func Places(d *topology.Decky) []string {
	if len(d.Bait) > 0 {
		if slices.Contains(d.Bait, "none") {
			return nil
		}
		return d.Bait
	}
	var out []string
	for _, s := range d.Services {
		if p := bait.PlaceOf(s); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// For returns the bait of decky name in spec, for the places it carries
// bait in that its services serve; nil for an unknown decky.
func For(spec *topology.Spec, name string) []bait.File {
	d := spec.Decky(name)
	if d == nil {
		return nil
	}
	places := Places(d)
	served := map[string]bool{}
	for _, s := range d.Services {
		served[bait.PlaceOf(s)] = true
	}
	g := newGen(spec, d)
	var out []bait.File
	for _, p := range places {
		if !served[p] {
			continue
		}
		switch p {
		case bait.Shell:
			out = append(out, g.shell()...)
		case bait.FTP:
			out = append(out, g.ftp()...)
		case bait.SMB:
			out = append(out, g.smb()...)
		case bait.Mail:
			out = append(out, g.mail()...)
		}
	}
	return out
}

// gen draws one decky's bait.
type gen struct {
	spec   *topology.Spec
	d      *topology.Decky
	id     persona.Identity
	family persona.Family
	domain string
}

func newGen(spec *topology.Spec, d *topology.Decky) *gen {
	domain := "corp.local"
	if _, parent, ok := strings.Cut(strings.ToLower(d.Persona.Hostname), "."); ok && strings.Contains(parent, ".") || parent == "localdomain" {
		domain = parent
	}
	return &gen{spec: spec, d: d, id: persona.NewIdentity(spec.Seed, d.Name), family: persona.Family(d.Persona.OS), domain: domain}
}

// rand is a stream per purpose, so adding one file changes no other.
func (g *gen) rand(purpose string) *rand.Rand { return g.id.Rand("bait-" + purpose) }

// peer returns the address of another decky running one of services,
// else the decky's own when it runs one, else a believable internal
// name.
func (g *gen) peer(r *rand.Rand, fallback string, services ...string) string {
	for _, o := range g.spec.Deckies {
		if o.Name == g.d.Name || len(o.Addresses) == 0 || o.Addresses[0].IP == "" {
			continue
		}
		for _, s := range services {
			if slices.Contains(o.Services, s) {
				return o.Addresses[0].IP
			}
		}
	}
	for _, s := range services {
		if slices.Contains(g.d.Services, s) {
			return "127.0.0.1" // the decky's own service, as its admins reach it
		}
	}
	return fmt.Sprintf("%s%02d.%s", fallback, 1+r.IntN(9), g.domain)
}

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	keyB32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func token(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// secret is a password as people and generators make them: unique to
// the decky (so a brute-forcer's list never holds it by chance).
func secret(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return token(r, alnum, 14+r.IntN(6))
	}
	words := []string{"Harbor", "Falcon", "Copper", "Maple", "Orbit", "Granite", "Willow", "Cobalt", "Juniper", "Quartz"}
	return pick(r, words) + pick(r, words) + fmt.Sprint(10+r.IntN(89)) + pick(r, []string{"!", "#", "$", "%", "&"}) + token(r, lower, 3)
}

func days(r *rand.Rand, lo, hi int) time.Duration {
	return time.Duration(lo*24*60+r.IntN((hi-lo)*24*60)) * time.Minute
}

func (g *gen) shell() []bait.File {
	if g.family == persona.Embedded {
		r := g.rand("shell-cloud")
		user, pw := "admin", secret(r)
		host := g.peer(r, "nvr", "http", "ftp")
		return []bait.File{{Place: bait.Shell, Path: "/etc/config/cloud.conf", Mode: 0o600, Owner: "root", Age: days(r, 30, 300),
			Content: []byte(fmt.Sprintf("# uploader settings\nserver=%s\nport=21\nuser=%s\npassword=%s\ninterval=300\n", host, user, pw)),
			Creds:   []bait.Cred{{Principal: user, Secret: pw, Target: "ftp://" + host}}}}
	}
	var out []bait.File
	r := g.rand("shell-history")
	db := g.peer(r, "db", "mysql", "postgres")
	dbUser := pick(r, []string{"app_rw", "wp_admin", "reporting", "svc_app", "backup_op"})
	dbName := pick(r, []string{"app_prod", "wordpress", "crm", "billing", "inventory"})
	dbPass := secret(r)
	sshHost := g.peer(r, "app", "ssh")
	sshUser := pick(r, []string{"deploy", "ansible", "ops", "admin"})
	hist := []string{"ls -la", "df -h", "systemctl status nginx", "tail -n 100 /var/log/syslog", "cd /opt/app",
		fmt.Sprintf("mysql -h %s -u %s -p'%s' %s", db, dbUser, dbPass, dbName),
		fmt.Sprintf("mysqldump -h %s -u %s -p'%s' %s > /tmp/%s.sql", db, dbUser, dbPass, dbName, dbName),
		"gzip /tmp/" + dbName + ".sql", "ssh " + sshUser + "@" + sshHost, "free -m", "exit"}
	out = append(out, bait.File{Place: bait.Shell, Path: "/root/.bash_history", Mode: 0o600, Owner: "root", Age: days(r, 0, 3),
		Content: []byte(strings.Join(hist, "\n") + "\n"),
		Creds:   []bait.Cred{{Principal: dbUser, Secret: dbPass, Target: "mysql://" + db + "/" + dbName}}})

	r = g.rand("shell-notes")
	sshPass := secret(r)
	out = append(out, bait.File{Place: bait.Shell, Path: "/root/notes.txt", Mode: 0o644, Owner: "root", Age: days(r, 5, 90),
		Content: []byte(fmt.Sprintf("TODO\n- move cron backups off this box\n- %s is the jump host now: %s / %s (change after the audit!)\n- renew the wildcard cert\n", sshHost, sshUser, sshPass)),
		Creds:   []bait.Cred{{Principal: sshUser, Secret: sshPass, Target: "ssh://" + sshHost}}})

	r = g.rand("shell-env")
	appPass := secret(r)
	appUser := pick(r, []string{"app", "api", "laravel", "node"})
	out = append(out, bait.File{Place: bait.Shell, Path: "/opt/app/.env", Mode: 0o640, Owner: "root", Age: days(r, 10, 200),
		Content: []byte(fmt.Sprintf("APP_ENV=production\nAPP_KEY=base64:%s=\nDB_CONNECTION=mysql\nDB_HOST=%s\nDB_PORT=3306\nDB_DATABASE=%s\nDB_USERNAME=%s\nDB_PASSWORD=%s\nAWS_ACCESS_KEY_ID=AKIA%s\nAWS_SECRET_ACCESS_KEY=%s\nAWS_DEFAULT_REGION=eu-west-1\n",
			token(r, alnum, 43), db, dbName, appUser, appPass, token(r, keyB32, 16), token(r, alnum+"+/", 40))),
		Creds: []bait.Cred{{Principal: appUser, Secret: appPass, Target: "mysql://" + db + "/" + dbName}}})
	return out
}

func (g *gen) ftp() []bait.File {
	r := g.rand("ftp-vpn")
	user, pw := pick(r, []string{"vpn-" + token(r, lower, 5), "contractor", "extern01"}), secret(r)
	host := g.peer(r, "vpn", "ssh")
	out := []bait.File{{Place: bait.FTP, Path: "/srv/ftp/pub/IT/vpn-setup.txt", Mode: 0o644, Owner: "ftp", Age: days(r, 20, 200),
		Content: []byte(fmt.Sprintf("Remote access for external staff\n\nServer: %s\nUser: %s\nPassword: %s\n\nInstall the client from the intranet first. Do not share this file.\n", host, user, pw)),
		Creds:   []bait.Cred{{Principal: user, Secret: pw, Target: "ssh://" + host}}}}
	r = g.rand("ftp-wpconfig")
	db := g.peer(r, "db", "mysql")
	dbUser, dbPass := "wp_"+token(r, lower, 4), secret(r)
	out = append(out, bait.File{Place: bait.FTP, Path: "/var/www/html/wp-config.php.bak", Mode: 0o644, Owner: "www-data", Age: days(r, 30, 400),
		Content: []byte(fmt.Sprintf("<?php\ndefine( 'DB_NAME', 'wordpress' );\ndefine( 'DB_USER', '%s' );\ndefine( 'DB_PASSWORD', '%s' );\ndefine( 'DB_HOST', '%s' );\ndefine( 'DB_CHARSET', 'utf8mb4' );\n$table_prefix = 'wp_';\n", dbUser, dbPass, db)),
		Creds:   []bait.Cred{{Principal: dbUser, Secret: dbPass, Target: "mysql://" + db + "/wordpress"}}})
	return out
}

func (g *gen) smb() []bait.File {
	r := g.rand("smb-script")
	domain := strings.ToUpper(strings.SplitN(g.domain, ".", 2)[0])
	user, pw := "svc_"+pick(r, []string{"backup", "scan", "print", "deploy"}), secret(r)
	server := g.peer(r, "fs", "smb")
	return []bait.File{{Place: bait.SMB, Path: "IT/Scripts/map_drives.bat", Age: days(r, 30, 500),
		Content: []byte(strings.ReplaceAll(fmt.Sprintf("@echo off\nrem map the department drives at logon\nnet use S: \\\\%s\\Shared /user:%s\\%s %s /persistent:no\nnet use T: \\\\%s\\Transfer /persistent:no\n", server, domain, user, pw, server), "\n", "\r\n")),
		Creds:   []bait.Cred{{Principal: user, Secret: pw, Target: "smb://" + server}}}}
}

func (g *gen) mail() []bait.File {
	r := g.rand("mail-db")
	db := g.peer(r, "db", "mysql", "postgres")
	user, pw := "svc_"+pick(r, []string{"report", "etl", "crm"}), secret(r)
	return []bait.File{{Place: bait.Mail, Path: "Re: read-only access for the reporting job", Age: days(r, 2, 40),
		Content: []byte(fmt.Sprintf("Hi,\n\nthe account for the nightly reporting job is ready:\n\n  host:     %s\n  user:     %s\n  password: %s\n\nIt is read-only on the reporting schema. Please keep it out of the wiki.\n\nThanks\n", db, user, pw)),
		Creds:   []bait.Cred{{Principal: user, Secret: pw, Target: "mysql://" + db}}}}
}
