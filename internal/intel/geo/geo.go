// Package geo answers where a source address is and which network
// announces it, from operator-supplied MaxMind-format databases
// (GeoLite2-City or -Country and GeoLite2-ASN, or DB-IP's lite editions,
// which share their layout).
//
// A database path that is not set, or names no file, means no answer from
// it, never an error: enrichment is optional. Files are read whole into
// memory (never mapped, so an operator overwriting one in place cannot
// fault the master) and read again when their size or modification time
// changes.
//
// Lifecycle: New starts nothing. Reload reads what changed; Run calls it
// at once and then at every interval until ctx is done. Lookup is safe
// for concurrent use with both.
package geo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// MaxFileSize bounds a database file read into memory (GeoLite2-City is
// about 60 MB, DB-IP's city lite about 130 MB).
const MaxFileSize = 512 << 20

// Options name the databases; an empty path is no database.
type Options struct {
	// City is a city or country database (GeoLite2-City, GeoLite2-Country,
	// dbip-city-lite, dbip-country-lite).
	City string
	// ASN is an AS database (GeoLite2-ASN, dbip-asn-lite).
	ASN string
	Log *slog.Logger
}

// Info is what the databases say about one address; empty fields are
// unknown.
type Info struct {
	Country     string // ISO 3166-1 alpha-2
	CountryName string // in English
	City        string // in English
	ASN         uint32
	ASOrg       string
}

// DB is the set of databases. Lookup reads the latest loaded version.
type DB struct {
	opts Options
	log  *slog.Logger
	city dbFile
	asn  dbFile
	// gen counts the loads and unloads, so that callers caching answers
	// know when to ask again.
	gen atomic.Uint64
	mu  sync.Mutex // serialises Reload
}

// dbFile is one database and the file it was read from.
type dbFile struct {
	path string
	kind string // "city" or "asn", for logs
	cur  atomic.Pointer[loaded]
	// absentLogged keeps a missing file from being logged at every poll.
	absentLogged bool
}

type loaded struct {
	r       *maxminddb.Reader
	size    int64
	modTime time.Time
	dbType  string
}

// New returns the databases of opts, not loaded yet.
func New(opts Options) *DB {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DB{opts: opts, log: log.With("component", "geo"),
		city: dbFile{path: opts.City, kind: "city"}, asn: dbFile{path: opts.ASN, kind: "asn"}}
}

// Configured reports whether any database path is set.
func (d *DB) Configured() bool { return d.opts.City != "" || d.opts.ASN != "" }

// Loaded reports whether any database is loaded now.
func (d *DB) Loaded() bool { return d.city.cur.Load() != nil || d.asn.cur.Load() != nil }

// Generation changes every time a database is loaded, replaced or
// dropped.
func (d *DB) Generation() uint64 { return d.gen.Load() }

// Reload reads every database whose file changed since the last load,
// and drops one whose file is gone. A file that cannot be read or is not
// a database of the expected kind keeps the previous version loaded; its
// error is returned (joined with the other's).
func (d *DB) Reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(d.reload(&d.city), d.reload(&d.asn))
}

func (d *DB) reload(f *dbFile) error {
	if f.path == "" {
		return nil
	}
	fi, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		if !f.absentLogged {
			d.log.Info("geo database absent; addresses are not enriched from it until it appears", "kind", f.kind, "path", f.path)
			f.absentLogged = true
		}
		if f.cur.Swap(nil) != nil {
			d.gen.Add(1)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("geo: %s database: %w", f.kind, err)
	}
	f.absentLogged = false
	if cur := f.cur.Load(); cur != nil && cur.size == fi.Size() && cur.modTime.Equal(fi.ModTime()) {
		return nil
	}
	l, err := load(f.path, f.kind)
	if err != nil {
		return fmt.Errorf("geo: %s database %s: %w", f.kind, f.path, err)
	}
	l.size, l.modTime = fi.Size(), fi.ModTime()
	f.cur.Store(l)
	d.gen.Add(1)
	d.log.Info("geo database loaded", "kind", f.kind, "path", f.path, "type", l.dbType,
		"built", l.r.Metadata.BuildTime().UTC().Format(time.DateOnly))
	return nil
}

// load reads path and checks that it is a database of kind.
func load(path, kind string) (*loaded, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", MaxFileSize>>20)
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, err
	}
	t := r.Metadata.DatabaseType
	lt := strings.ToLower(t)
	switch {
	case kind == "asn" && !strings.Contains(lt, "asn"):
		return nil, fmt.Errorf("database type %q is not an ASN database", t)
	case kind == "city" && !strings.Contains(lt, "city") && !strings.Contains(lt, "country"):
		return nil, fmt.Errorf("database type %q is not a city or country database", t)
	}
	return &loaded{r: r, dbType: t}, nil
}

// Run loads the databases, then reloads them every interval until ctx is
// done; it returns nil then. Load errors are logged, not returned: the
// master keeps running with what it has.
func (d *DB) Run(ctx context.Context, interval time.Duration) error {
	if !d.Configured() {
		return nil
	}
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := d.Reload(); err != nil {
			d.log.Warn("geo database not loaded", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type names map[string]string

type cityRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"country"`
	// RegisteredCountry answers for addresses without a located country
	// (anycast, some cloud ranges).
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"registered_country"`
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// Lookup answers for ip; ok is false when no database knows it.
func (d *DB) Lookup(ip netip.Addr) (info Info, ok bool) {
	ip = ip.Unmap()
	if l := d.city.cur.Load(); l != nil {
		var rec cityRecord
		if res := l.r.Lookup(ip); res.Found() && res.Decode(&rec) == nil {
			info.Country, info.CountryName = rec.Country.ISOCode, rec.Country.Names["en"]
			if info.Country == "" {
				info.Country, info.CountryName = rec.RegisteredCountry.ISOCode, rec.RegisteredCountry.Names["en"]
			}
			info.City = rec.City.Names["en"]
			ok = info.Country != "" || info.City != ""
		}
	}
	if l := d.asn.cur.Load(); l != nil {
		var rec asnRecord
		if res := l.r.Lookup(ip); res.Found() && res.Decode(&rec) == nil && rec.Number != 0 {
			info.ASN, info.ASOrg = rec.Number, rec.Org
			ok = true
		}
	}
	return info, ok
}
