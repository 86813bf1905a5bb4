package mssql

import (
	"strconv"
	"strings"
)

// builds are released SQL Server builds a persona may run, by the
// Windows versions they are commonly installed on: RTMs and cumulative
// updates, as @@VERSION writes them.
var builds = map[string][]string{
	"2016": {"13.0.5026.0", "13.0.6300.2", "13.0.6419.1", "13.0.6435.1"},
	"2017": {"14.0.1000.169", "14.0.3381.3", "14.0.3436.1", "14.0.3456.2", "14.0.3465.1"},
	"2019": {"15.0.2000.5", "15.0.4138.2", "15.0.4198.2", "15.0.4249.2", "15.0.4298.1", "15.0.4335.1", "15.0.4355.3", "15.0.4375.4", "15.0.4385.2"},
	"2022": {"16.0.1000.6", "16.0.4003.1", "16.0.4035.4", "16.0.4085.2", "16.0.4105.2", "16.0.4125.3"},
}

// releasesFor lists the releases that fit a Windows distro.
func releasesFor(distro string) []string {
	switch distro {
	case "win2016":
		return []string{"2016", "2017"}
	case "win2022", "win11":
		return []string{"2019", "2022"}
	}
	return []string{"2017", "2019"}
}

// parseVersion reads "15.0.2000.5" (or 15.00.2000.05) into its four numbers.
func parseVersion(s string) ([4]int, bool) {
	var v [4]int
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 3 || len(parts) > 4 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 || (i < 2 && n > 255) {
			return v, false
		}
		v[i] = n
	}
	return v, v[0] >= 7
}

// integratedWording is the name SQL Server gives Windows authentication
// in error 18452: "Integrated" from SQL Server 2019.
func integratedWording(major int) string {
	if major >= 15 {
		return "Integrated"
	}
	return "Windows"
}
