package mongodb

import (
	"strconv"
	"strings"
)

// version is the mongod build the decky claims.
type version struct {
	full         string
	major, minor int
	patch        int
	wire         int32
	distmod      string
}

// distroVersions are the mongodb.org packages each distro runs: the
// newest series its repository ships for that release.
var distroVersions = map[string][2]string{
	"debian":   {"7.0.14", "debian12"},
	"ubuntu22": {"7.0.14", "ubuntu2204"},
	"ubuntu20": {"6.0.18", "ubuntu2004"},
	"rocky9":   {"7.0.14", "rhel90"},
	"centos7":  {"5.0.29", "rhel70"},
	"fedora":   {"6.0.18", "rhel80"},
	"alpine":   {"6.0.18", "ubuntu2204"},
	"kali":     {"7.0.14", "debian12"},
	"arch":     {"7.0.14", "ubuntu2204"},
	"win10":    {"7.0.14", "windows"},
	"win11":    {"7.0.14", "windows"},
	"win2016":  {"6.0.18", "windows"},
	"win2019":  {"7.0.14", "windows"},
	"win2022":  {"7.0.14", "windows"},
}

// wireVersions maps a release series to its maxWireVersion.
var wireVersions = map[[2]int]int32{
	{3, 6}: 6, {4, 0}: 7, {4, 2}: 8, {4, 4}: 9, {5, 0}: 13, {5, 1}: 14, {5, 2}: 15, {5, 3}: 16,
	{6, 0}: 17, {6, 1}: 18, {6, 2}: 19, {6, 3}: 20, {7, 0}: 21, {7, 1}: 22, {7, 2}: 23, {7, 3}: 24, {8, 0}: 25,
}

func versionFor(slug, override string) version {
	dv, ok := distroVersions[slug]
	if !ok {
		dv = [2]string{"7.0.14", "ubuntu2204"}
	}
	v := version{full: dv[0], distmod: dv[1]}
	if override != "" {
		v.full = override
	}
	parts := strings.SplitN(v.full, ".", 3)
	v.major, _ = strconv.Atoi(parts[0])
	if len(parts) > 1 {
		v.minor, _ = strconv.Atoi(parts[1])
	}
	if len(parts) > 2 {
		p := parts[2]
		if i := strings.IndexAny(p, "-+"); i >= 0 {
			p = p[:i]
		}
		v.patch, _ = strconv.Atoi(p)
	}
	w, ok := wireVersions[[2]int{v.major, v.minor}]
	switch {
	case ok:
	case v.major > 8:
		w = 25
	case v.major < 3 || (v.major == 3 && v.minor < 6):
		w = 5
	default:
		w = 21
	}
	v.wire = w
	return v
}

func (v version) atLeast(major, minor int) bool {
	return v.major > major || (v.major == major && v.minor >= minor)
}

// opQueryCommands: before 5.1 every command could come as OP_QUERY on
// db.$cmd; from 5.1 only hello/isMaster may.
func (v version) opQueryCommands() bool { return !v.atLeast(5, 1) }

// openssl is what buildInfo reports for the build's platform.
func (v version) openssl() D {
	switch v.distmod {
	case "windows":
		return D{{"running", "Windows SChannel"}}
	case "debian12", "ubuntu2204", "rhel90":
		return D{{"running", "OpenSSL 3.0.11 19 Sep 2023"}, {"compiled", "OpenSSL 3.0.2 15 Mar 2022"}}
	case "rhel70":
		return D{{"running", "OpenSSL 1.0.1e-fips 11 Feb 2013"}, {"compiled", "OpenSSL 1.0.1e-fips 11 Feb 2013"}}
	}
	return D{{"running", "OpenSSL 1.1.1f  31 Mar 2020"}, {"compiled", "OpenSSL 1.1.1f  31 Mar 2020"}}
}
