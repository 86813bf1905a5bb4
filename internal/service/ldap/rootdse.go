package ldap

import (
	"fmt"
	"strings"
)

// adControls are the controls a Windows Server 2016+ DC lists.
var adControls = []string{"1.2.840.113556.1.4.319", "1.2.840.113556.1.4.801", "1.2.840.113556.1.4.473", "1.2.840.113556.1.4.528",
	"1.2.840.113556.1.4.417", "1.2.840.113556.1.4.619", "1.2.840.113556.1.4.841", "1.2.840.113556.1.4.529", "1.2.840.113556.1.4.805",
	"1.2.840.113556.1.4.521", "1.2.840.113556.1.4.970", "1.2.840.113556.1.4.1338", "1.2.840.113556.1.4.474", "1.2.840.113556.1.4.1339",
	"1.2.840.113556.1.4.1340", "1.2.840.113556.1.4.1413", "2.16.840.1.113730.3.4.9", "2.16.840.1.113730.3.4.10", "1.2.840.113556.1.4.1504",
	"1.2.840.113556.1.4.1852", "1.2.840.113556.1.4.802", "1.2.840.113556.1.4.1907", "1.2.840.113556.1.4.1948", "1.2.840.113556.1.4.1974",
	"1.2.840.113556.1.4.1341", "1.2.840.113556.1.4.2026", "1.2.840.113556.1.4.2064", "1.2.840.113556.1.4.2065", "1.2.840.113556.1.4.2066",
	"1.2.840.113556.1.4.2090", "1.2.840.113556.1.4.2205", "1.2.840.113556.1.4.2204", "1.2.840.113556.1.4.2206", "1.2.840.113556.1.4.2211",
	"1.2.840.113556.1.4.2239", "1.2.840.113556.1.4.2255", "1.2.840.113556.1.4.2256", "1.2.840.113556.1.4.2309", "1.2.840.113556.1.4.2330",
	"1.2.840.113556.1.4.2354"}

var adPolicies = []string{"MaxPoolThreads", "MaxPercentDirSyncRequests", "MaxDatagramRecv", "MaxReceiveBuffer", "InitRecvTimeout",
	"MaxConnections", "MaxConnIdleTime", "MaxPageSize", "MaxBatchReturnMessages", "MaxQueryDuration", "MaxDirSyncDuration",
	"MaxTempTableSize", "MaxResultSetSize", "MinResultSets", "MaxResultSetsPerConn", "MaxNotificationPerConn", "MaxValRange",
	"MaxValRangeTransitive", "ThreadMemoryLimit", "SystemMemoryLimitPercent"}

// rootDSE is the server's root entry, in the order the server writes it.
func (cn *conn) rootDSE() *entry {
	s := cn.s
	if !s.ad {
		return &entry{dn: "", attrs: []attr{
			{"objectClass", []string{"top", "OpenLDAProotDSE"}},
			{"structuralObjectClass", []string{"OpenLDAProotDSE"}},
			{"configContext", []string{"cn=config"}},
			{"namingContexts", []string{s.base}},
			{"supportedControl", []string{"2.16.840.1.113730.3.4.18", "2.16.840.1.113730.3.4.2", "1.3.6.1.4.1.4203.1.10.1", "1.3.6.1.1.22",
				"1.2.840.113556.1.4.319", "1.2.826.0.1.3344810.2.3", "1.3.6.1.1.13.2", "1.3.6.1.1.13.1", "1.3.6.1.1.12"}},
			{"supportedExtension", []string{"1.3.6.1.4.1.4203.1.11.1", "1.3.6.1.4.1.4203.1.11.3", "1.3.6.1.1.8", "1.3.6.1.1.21.3", "1.3.6.1.1.21.1"}},
			{"supportedFeatures", []string{"1.3.6.1.1.14", "1.3.6.1.4.1.4203.1.5.1", "1.3.6.1.4.1.4203.1.5.2", "1.3.6.1.4.1.4203.1.5.3",
				"1.3.6.1.4.1.4203.1.5.4", "1.3.6.1.4.1.4203.1.5.5"}},
			{"supportedLDAPVersion", []string{"3"}},
			{"supportedSASLMechanisms", []string{"SCRAM-SHA-512", "SCRAM-SHA-384", "SCRAM-SHA-256", "SCRAM-SHA-224", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "NTLM"}},
			{"entryDN", []string{""}},
			{"subschemaSubentry", []string{"cn=Subschema"}},
		}}
	}
	w := s.win
	forest := baseDN(w.DNSForest, true)
	config := "CN=Configuration," + forest
	site := "Default-First-Site-Name"
	server := fmt.Sprintf("CN=%s,CN=Servers,CN=%s,CN=Sites,%s", w.NetBIOSName, site, config)
	level := "7" // Windows Server 2016 and later
	usn := 12000 + int(s.env.Identity.Rand("ldap-usn").IntN(400000)) + int(s.now().Sub(w.Boot).Minutes())
	return &entry{dn: "", attrs: []attr{
		{"currentTime", []string{s.now().UTC().Format("20060102150405.0Z")}},
		{"subschemaSubentry", []string{"CN=Aggregate,CN=Schema," + config}},
		{"dsServiceName", []string{"CN=NTDS Settings," + server}},
		{"namingContexts", []string{s.base, config, "CN=Schema," + config, "DC=DomainDnsZones," + s.base, "DC=ForestDnsZones," + forest}},
		{"defaultNamingContext", []string{s.base}},
		{"rootDomainNamingContext", []string{forest}},
		{"configurationNamingContext", []string{config}},
		{"schemaNamingContext", []string{"CN=Schema," + config}},
		{"serverName", []string{server}},
		{"supportedControl", adControls},
		{"supportedLDAPVersion", []string{"3", "2"}},
		{"supportedLDAPPolicies", adPolicies},
		{"highestCommittedUSN", []string{fmt.Sprint(usn)}},
		{"supportedSASLMechanisms", []string{"GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5"}},
		{"dnsHostName", []string{w.DNSName}},
		{"ldapServiceName", []string{w.DNSForest + ":" + strings.ToLower(w.NetBIOSName) + "$@" + strings.ToUpper(w.DNSDomain)}},
		{"supportedCapabilities", []string{"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670", "1.2.840.113556.1.4.1791",
			"1.2.840.113556.1.4.1935", "1.2.840.113556.1.4.2080", "1.2.840.113556.1.4.2237"}},
		{"isSynchronized", []string{"TRUE"}},
		{"isGlobalCatalogReady", []string{"TRUE"}},
		{"domainFunctionality", []string{level}},
		{"forestFunctionality", []string{level}},
		{"domainControllerFunctionality", []string{level}},
	}}
}
