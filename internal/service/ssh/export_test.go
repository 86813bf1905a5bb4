package ssh

// Claimed is a release's default offer, exported for the tests.
type Claimed struct {
	Kex, Ciphers, MACs, Missing []string
	// Offered are the lists the decoy sends.
	OfferedKex, OfferedCiphers, OfferedMACs []string
}

// ClaimedFor returns the claimed offer of version on distro osID.
func ClaimedFor(version, osID string) Claimed {
	p := profileFor(version, osID)
	return Claimed{Kex: p.ClaimedKex, Ciphers: p.ClaimedCiphers, MACs: p.ClaimedMACs, Missing: p.Missing(),
		OfferedKex: p.Kex(), OfferedCiphers: p.Ciphers(), OfferedMACs: p.MACs()}
}

// ParseMaxStartups checks a max_startups setting.
func ParseMaxStartups(v string) error {
	_, err := parseMaxStartups(v)
	return err
}
