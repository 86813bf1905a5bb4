package ldap

import (
	"fmt"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// entry is a directory object: attribute names as the server writes them,
// each with its values.
type entry struct {
	dn    string
	attrs []attr
}

type attr struct {
	name   string
	values []string
}

func (e *entry) get(name string) []string {
	for _, a := range e.attrs {
		if strings.EqualFold(a.name, name) {
			return a.values
		}
	}
	if strings.EqualFold(name, "distinguishedName") || strings.EqualFold(name, "entryDN") {
		return []string{e.dn}
	}
	return nil
}

// directory is the bait tree under the base DN.
type directory struct {
	base    string
	entries []*entry
}

var (
	firstNames = []string{"James", "Mary", "Robert", "Patricia", "Michael", "Linda", "David", "Susan", "Daniel", "Karen", "Thomas", "Emma", "Mark", "Laura", "Paul", "Anna"}
	lastNames  = []string{"Smith", "Walker", "Harris", "Clarke", "Turner", "Hughes", "Bennett", "Foster", "Price", "Reid", "Barker", "Cole", "Hayes", "Moss", "Lane", "Webb"}
	titles     = []string{"Accountant", "IT Support", "HR Manager", "Sales Executive", "Network Engineer", "Office Manager", "Developer", "Finance Director"}
)

// baseDN writes a DNS domain as a DN, with the attribute case the server
// uses (DC= for Active Directory, dc= for OpenLDAP).
func baseDN(domain string, ad bool) string {
	dc := "dc="
	if ad {
		dc = "DC="
	}
	parts := strings.Split(domain, ".")
	for i, p := range parts {
		parts[i] = dc + p
	}
	return strings.Join(parts, ",")
}

// newDirectory seeds users, groups and computers for the decky's domain:
// the same names each time, believable to a reconnaissance tool, with one
// service account whose description gives its password away, as admins
// leave them.
func newDirectory(id persona.Identity, w persona.WindowsIdentity, base string, ad bool, now time.Time) *directory {
	r := id.Rand("ldap-directory")
	d := &directory{base: base}
	created := now.Add(-time.Duration(400+r.IntN(900)) * 24 * time.Hour).UTC()
	gt := func(t time.Time) string { return t.Format("20060102150405.0Z") }
	ft := func(t time.Time) string { return fmt.Sprint(t.UnixNano()/100 + 116444736000000000) }
	add := func(dn string, attrs ...attr) *entry {
		e := &entry{dn: dn, attrs: attrs}
		d.entries = append(d.entries, e)
		return e
	}
	if !ad {
		org := strings.SplitN(strings.TrimPrefix(base, "dc="), ",", 2)[0]
		add(base, attr{"objectClass", []string{"top", "dcObject", "organization"}}, attr{"o", []string{org}}, attr{"dc", []string{org}})
		add("ou=people,"+base, attr{"objectClass", []string{"organizationalUnit"}}, attr{"ou", []string{"people"}})
		add("ou=groups,"+base, attr{"objectClass", []string{"organizationalUnit"}}, attr{"ou", []string{"groups"}})
		var uids []string
		for i := range 10 + r.IntN(6) {
			first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
			uid := strings.ToLower(first[:1] + last)
			uids = append(uids, uid)
			add(fmt.Sprintf("uid=%s,ou=people,%s", uid, base),
				attr{"objectClass", []string{"inetOrgPerson", "posixAccount", "shadowAccount"}},
				attr{"uid", []string{uid}}, attr{"cn", []string{first + " " + last}}, attr{"sn", []string{last}}, attr{"givenName", []string{first}},
				attr{"mail", []string{uid + "@" + strings.ReplaceAll(strings.ReplaceAll(base, "dc=", ""), ",", ".")}},
				attr{"uidNumber", []string{fmt.Sprint(10001 + i)}}, attr{"gidNumber", []string{"10000"}},
				attr{"homeDirectory", []string{"/home/" + uid}}, attr{"loginShell", []string{"/bin/bash"}}, attr{"title", []string{titles[r.IntN(len(titles))]}})
		}
		add("cn=staff,ou=groups,"+base, attr{"objectClass", []string{"posixGroup"}}, attr{"cn", []string{"staff"}}, attr{"gidNumber", []string{"10000"}}, attr{"memberUid", uids})
		add("cn=svc-backup,ou=people,"+base, attr{"objectClass", []string{"inetOrgPerson"}}, attr{"cn", []string{"svc-backup"}}, attr{"sn", []string{"backup"}},
			attr{"description", []string{"backup job account, pw " + baitPassword(r.IntN(1000))}})
		return d
	}
	dom := w.NetBIOSDomain
	add(base, attr{"objectClass", []string{"top", "domain", "domainDNS"}}, attr{"distinguishedName", []string{base}},
		attr{"name", []string{strings.ToLower(dom)}}, attr{"objectSid", []string{w.DomainSID}}, attr{"whenCreated", []string{gt(created)}},
		attr{"ms-DS-MachineAccountQuota", []string{"10"}}, attr{"lockoutThreshold", []string{"0"}}, attr{"minPwdLength", []string{"7"}})
	users := "CN=Users," + base
	add(users, attr{"objectClass", []string{"top", "container"}}, attr{"cn", []string{"Users"}}, attr{"description", []string{"Default container for upgraded user accounts"}})
	add("OU=Domain Controllers,"+base, attr{"objectClass", []string{"top", "organizationalUnit"}}, attr{"ou", []string{"Domain Controllers"}})
	add("CN=Computers,"+base, attr{"objectClass", []string{"top", "container"}}, attr{"cn", []string{"Computers"}})
	user := func(cn, sam, desc string, rid int, uac string, groups ...string) {
		a := []attr{{"objectClass", []string{"top", "person", "organizationalPerson", "user"}}, {"cn", []string{cn}},
			{"sAMAccountName", []string{sam}}, {"userPrincipalName", []string{sam + "@" + w.DNSDomain}},
			{"distinguishedName", []string{"CN=" + cn + "," + users}}, {"objectSid", []string{fmt.Sprintf("%s-%d", w.DomainSID, rid)}},
			{"userAccountControl", []string{uac}}, {"whenCreated", []string{gt(created.Add(time.Duration(rid) * time.Hour))}},
			{"pwdLastSet", []string{ft(now.Add(-time.Duration(r.IntN(200*24)) * time.Hour))}},
			{"lastLogonTimestamp", []string{ft(now.Add(-time.Duration(r.IntN(14*24)) * time.Hour))}}}
		if desc != "" {
			a = append(a, attr{"description", []string{desc}})
		}
		if len(groups) > 0 {
			var dns []string
			for _, g := range groups {
				dns = append(dns, "CN="+g+","+users)
			}
			a = append(a, attr{"memberOf", dns})
		}
		add("CN="+cn+","+users, a...)
	}
	user("Administrator", "Administrator", "Built-in account for administering the computer/domain", 500, "66048", "Domain Admins", "Enterprise Admins")
	user("Guest", "Guest", "Built-in account for guest access to the computer/domain", 501, "66082")
	user("krbtgt", "krbtgt", "Key Distribution Center Service Account", 502, "514")
	for i := range 10 + r.IntN(6) {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		groups := []string{"Domain Users"}
		if i == 0 {
			groups = append(groups, "Domain Admins")
		}
		user(first+" "+last, strings.ToLower(first+"."+last), titles[r.IntN(len(titles))], 1103+i, "66048", groups...)
	}
	user("svc_backup", "svc_backup", "Backup service account - password "+baitPassword(r.IntN(1000)), 1150, "66048", "Backup Operators")
	user("svc_sql", "svc_sql", "", 1151, "66048")
	for _, g := range []string{"Domain Admins", "Domain Users", "Enterprise Admins", "Backup Operators", "IT Support", "Finance", "VPN Users"} {
		add("CN="+g+","+users, attr{"objectClass", []string{"top", "group"}}, attr{"cn", []string{g}}, attr{"sAMAccountName", []string{g}})
	}
	add("CN="+w.NetBIOSName+",OU=Domain Controllers,"+base, attr{"objectClass", []string{"top", "person", "organizationalPerson", "user", "computer"}},
		attr{"cn", []string{w.NetBIOSName}}, attr{"sAMAccountName", []string{w.NetBIOSName + "$"}}, attr{"dNSHostName", []string{w.DNSName}},
		attr{"operatingSystem", []string{"Windows Server 2019 Standard"}}, attr{"operatingSystemVersion", []string{fmt.Sprintf("%d.%d (%d)", w.Major, w.Minor, w.Build)}},
		attr{"userAccountControl", []string{"532480"}})
	for range 4 + r.IntN(6) {
		name := fmt.Sprintf("WS-%s%03d", []string{"FIN", "HR", "IT", "OPS"}[r.IntN(4)], r.IntN(1000))
		add("CN="+name+",CN=Computers,"+base, attr{"objectClass", []string{"top", "person", "organizationalPerson", "user", "computer"}},
			attr{"cn", []string{name}}, attr{"sAMAccountName", []string{name + "$"}}, attr{"dNSHostName", []string{strings.ToLower(name) + "." + w.DNSDomain}},
			attr{"operatingSystem", []string{"Windows 10 Pro"}}, attr{"userAccountControl", []string{"4096"}})
	}
	return d
}

// baitPassword is a password an admin would write in a description.
func baitPassword(n int) string {
	return []string{"Backup", "Summer", "Welcome", "Company"}[n%4] + fmt.Sprint(2019+n%6) + "!"
}

// search returns the entries in scope under base matching f.
func (d *directory) search(base string, scope int, f *filter) []*entry {
	var out []*entry
	base = strings.ToLower(base)
	for _, e := range d.entries {
		dn := strings.ToLower(e.dn)
		in := false
		switch scope {
		case 0:
			in = dn == base
		case 1:
			_, parent, _ := strings.Cut(dn, ",")
			in = parent == base
		default:
			in = dn == base || strings.HasSuffix(dn, ","+base)
		}
		if in && f.match(e) {
			out = append(out, e)
		}
	}
	return out
}

// exists says whether dn is in the directory.
func (d *directory) exists(dn string) bool {
	for _, e := range d.entries {
		if strings.EqualFold(e.dn, dn) {
			return true
		}
	}
	return false
}
