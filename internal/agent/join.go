package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/decnet/decnet/internal/pki"
)

// Files an enrolled agent keeps under <dir>/pki.
const (
	pkiDir         = "pki"
	caFile         = "ca.crt"
	certFile       = "agent.crt"
	keyFile        = "agent.key"
	enrollmentFile = "master.json"
)

// Enrollment is what an agent remembers of its master.
type Enrollment struct {
	Master string `json:"master"` // host:port of the master's agent listener
	HostID string `json:"host_id"`
	CAHash string `json:"ca_hash"`
}

// Join enrolls this agent with a master: it fetches the CA certificate and
// checks it against caHash (so a man in the middle cannot substitute
// another CA), makes its own key and a CSR, and sends the CSR with the
// single-use token. The key never leaves the host. Certificates and the
// enrollment are written under dir.
func Join(ctx context.Context, master, token, caHash, dir string) (*Enrollment, error) {
	if _, err := os.Stat(filepath.Join(dir, pkiDir, certFile)); err == nil {
		return nil, fmt.Errorf("%s is already enrolled (remove %s to join again)", dir, filepath.Join(dir, pkiDir))
	}
	// The CA certificate is public; it is trusted only if its hash matches
	// the one the operator copied from the master.
	insecure := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := get(ctx, insecure, "https://"+master+"/agent/v1/ca")
	if err != nil {
		return nil, fmt.Errorf("fetch the master's CA: %w", err)
	}
	caPEM, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	caCert, err := pki.ParseCertificatePEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("the master's CA: %w", err)
	}
	if got := pki.CAHash(caCert); got != caHash {
		return nil, fmt.Errorf("the master's CA hash is %s, not %s: refusing to join (wrong master, or someone in between)", got, caHash)
	}
	pool, err := pki.NewPool(caPEM)
	if err != nil {
		return nil, err
	}
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(pki.Agent("joining"), nil, nil)
	if err != nil {
		return nil, err
	}
	// From here on the master is verified: signed by that CA, master role.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: pki.ClientTLSConfig(pool, tls.Certificate{}, pki.Only(pki.Master()))}}
	body, _ := json.Marshal(map[string]string{"token": token, "csr_pem": string(csrPEM)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+master+"/agent/v1/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err = client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("enroll refused (%s): %s", resp.Status, bytes.TrimSpace(data))
	}
	var res struct {
		HostID string `json:"host_id"`
		Cert   string `json:"cert_pem"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("enroll answer: %w", err)
	}
	en := &Enrollment{Master: master, HostID: res.HostID, CAHash: caHash}
	p := filepath.Join(dir, pkiDir)
	if err := os.MkdirAll(p, 0o700); err != nil {
		return nil, err
	}
	enJSON, _ := json.MarshalIndent(en, "", "  ")
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{caFile, caPEM, 0o644}, {keyFile, keyPEM, 0o600}, {certFile, []byte(res.Cert), 0o644}, {enrollmentFile, enJSON, 0o600}} {
		if err := pki.WriteNewFile(filepath.Join(p, f.name), f.data, f.mode); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return en, nil
}

func get(ctx context.Context, c *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return resp, nil
}

// LoadEnrollment reads the enrollment under dir; nil when the agent never
// joined a master.
func LoadEnrollment(dir string) (*Enrollment, *tls.Config, error) {
	p := filepath.Join(dir, pkiDir)
	data, err := os.ReadFile(filepath.Join(p, enrollmentFile))
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var en Enrollment
	if err := json.Unmarshal(data, &en); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", enrollmentFile, err)
	}
	caPEM, err := os.ReadFile(filepath.Join(p, caFile))
	if err != nil {
		return nil, nil, err
	}
	pool, err := pki.NewPool(caPEM)
	if err != nil {
		return nil, nil, err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(p, certFile), filepath.Join(p, keyFile))
	if err != nil {
		return nil, nil, err
	}
	// The master is pinned: the enrolling CA and the master role.
	return &en, pki.ClientTLSConfig(pool, cert, pki.Only(pki.Master())), nil
}
