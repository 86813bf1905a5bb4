package web

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master/api"
)

// maxExport bounds one export.
const maxExport = 50000

func (s *Server) exportHeaders(w http.ResponseWriter, ctype, ext string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="events-`+s.now().UTC().Format("20060102T150405Z")+ext+`"`)
}

// exportJSONL writes the filtered events as JSON lines, newest first, up
// to maxExport.
func (s *Server) exportJSONL(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	_, f, _, _, err := s.filter(r.URL.Query())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	f.After = ""
	s.exportHeaders(w, "application/x-ndjson; charset=utf-8", ".jsonl")
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err = s.eachEvent(r.Context(), f, maxExport, func(e event.Event) error { return enc.Encode(e) })
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		s.log.Warn("export", "format", "jsonl", "err", err)
	}
}

var csvHeader = []string{"id", "ts", "type", "severity", "outcome", "topology_id", "host", "decky", "service", "session_id",
	"src_ip", "src_port", "dst_ip", "dst_port", "principal", "secret_sha256", "fields"}

// csvCell defuses spreadsheet formulas: a cell an attacker controls must
// not start with a character a spreadsheet evaluates.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportCSV writes the filtered events as CSV, newest first, up to
// maxExport.
func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	_, f, _, _, err := s.filter(r.URL.Query())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	f.After = ""
	s.exportHeaders(w, "text/csv; charset=utf-8", ".csv")
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	port := func(ep *event.Endpoint) (string, string) {
		if ep == nil {
			return "", ""
		}
		p := ""
		if ep.Port != 0 {
			p = strconv.Itoa(ep.Port)
		}
		return ep.IP, p
	}
	err = s.eachEvent(r.Context(), f, maxExport, func(e event.Event) error {
		sip, sport := port(e.Src)
		dip, dport := port(e.Dst)
		var principal, sha string
		if e.Credential != nil {
			principal, sha = e.Credential.Principal, e.Credential.SecretSHA256
		}
		fields := ""
		if len(e.Fields) > 0 {
			b, _ := json.Marshal(e.Fields)
			fields = string(b)
		}
		row := []string{e.ID, e.Time.UTC().Format(time.RFC3339Nano), e.Type, strconv.Itoa(e.Severity), e.Outcome, e.Topology, e.Host,
			e.Decky, e.Service, e.Session, sip, sport, dip, dport, principal, sha, fields}
		for i := range row {
			row[i] = csvCell(row[i])
		}
		return cw.Write(row)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		s.log.Warn("export", "format", "csv", "err", err)
	}
}
