// Package all links every service into the binary: import it for its side
// effect of registering each description (and implementation) with the
// service registry. It is the one list of protocols.
package all

import (
	_ "github.com/decnet/decnet/internal/service/dns"
	_ "github.com/decnet/decnet/internal/service/dockerapi" // docker_api
	_ "github.com/decnet/decnet/internal/service/elasticsearch"
	_ "github.com/decnet/decnet/internal/service/ftp"
	_ "github.com/decnet/decnet/internal/service/http" // http, https
	_ "github.com/decnet/decnet/internal/service/ics"  // ics (conpot)
	_ "github.com/decnet/decnet/internal/service/imap"
	_ "github.com/decnet/decnet/internal/service/k8s"
	_ "github.com/decnet/decnet/internal/service/ldap"
	_ "github.com/decnet/decnet/internal/service/llmnr"
	_ "github.com/decnet/decnet/internal/service/mongodb"
	_ "github.com/decnet/decnet/internal/service/mqtt"
	_ "github.com/decnet/decnet/internal/service/mssql"
	_ "github.com/decnet/decnet/internal/service/mysql"
	_ "github.com/decnet/decnet/internal/service/pop3"
	_ "github.com/decnet/decnet/internal/service/postgres"
	_ "github.com/decnet/decnet/internal/service/rdp"
	_ "github.com/decnet/decnet/internal/service/redis"
	_ "github.com/decnet/decnet/internal/service/sip"
	_ "github.com/decnet/decnet/internal/service/smb"
	_ "github.com/decnet/decnet/internal/service/smtp" // smtp, smtp_relay
	_ "github.com/decnet/decnet/internal/service/snmp"
	_ "github.com/decnet/decnet/internal/service/ssh"
	_ "github.com/decnet/decnet/internal/service/telnet"
	_ "github.com/decnet/decnet/internal/service/tftp"
	_ "github.com/decnet/decnet/internal/service/vnc"
)
