package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/pki"
)

func newPKICmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Create the certificate authority and issue role certificates",
		Long: `The master's certificate authority signs the certificates of the master and
of every agent. A certificate's role (spiffe://decnet/master or
spiffe://decnet/agent/<host id>) is what the other side authorizes; names
in the certificate never are.

The CA lives in one directory as ca.crt and ca.key (mode 0600). Its hash,
sha256:<hex> over the CA's public key, is what an agent pins when it
enrolls.`,
		Example: `  decnet pki init --dir /etc/decnet/ca
  decnet pki issue --dir /etc/decnet/ca --role master --dns master.lab --out /etc/decnet/master
  decnet pki hash --dir /etc/decnet/ca`,
	}
	cmd.AddCommand(newPKIInitCmd(), newPKIIssueCmd(), newPKIHashCmd())
	return cmd
}

func newPKIInitCmd() *cobra.Command {
	var dir, name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the certificate authority",
		Long: `Create a new CA (ECDSA P-256, valid for ten years) in --dir as ca.crt and
ca.key, and print its hash. An existing CA is never overwritten.`,
		Example: `  decnet pki init --dir /etc/decnet/ca
  decnet pki init --dir ./ca --name "Lab CA" --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := pki.NewCA(name, time.Now())
			if err != nil {
				return err
			}
			if err := ca.Save(dir); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("a CA already exists in %s; refusing to overwrite it", dir)
				}
				return err
			}
			out := pkiCAOutput{
				Dir:  dir,
				Cert: filepath.Join(dir, pki.CACertFile),
				Key:  filepath.Join(dir, pki.CAKeyFile),
				Hash: ca.Hash(),
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "created CA %q\n  certificate %s\n  key         %s\n", ca.Cert.Subject.CommonName, out.Cert, out.Key)
			fmt.Fprintf(w, "CA hash: %s\n", out.Hash)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "CA directory (created, mode 0700)")
	f.StringVar(&name, "name", pki.DefaultCAName, "common name of the CA certificate")
	f.BoolVar(&asJSON, "json", false, "print the paths and hash as JSON")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

func newPKIIssueCmd() *cobra.Command {
	var (
		dir, role, hostID, out string
		dnsNames               []string
		ips                    []net.IP
		validity               time.Duration
		asJSON                 bool
	)
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a key and certificate for the master or an agent",
		Long: `Make a fresh key and have the CA in --dir sign a certificate for it, with the
role in a URI SAN (spiffe://decnet/master or spiffe://decnet/agent/<host id>)
and the given DNS and IP SANs, usable for both server and client
authentication. Writes PREFIX.crt and PREFIX.key (mode 0600); existing
files are never overwritten.

This is for identities the CA's holder runs itself. Agents that enroll
make their own key and send only a certificate request.`,
		Example: `  decnet pki issue --dir /etc/decnet/ca --role master --dns master.lab --out /etc/decnet/master
  decnet pki issue --dir ./ca --role agent --host-id edge-1 --ip 192.0.2.10 --validity 720h --out ./edge-1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r pki.Role
			switch role {
			case pki.KindMaster:
				if hostID != "" {
					return errors.New("--host-id is for --role agent only")
				}
				r = pki.Master()
			case pki.KindAgent:
				if hostID == "" {
					return errors.New("--role agent needs --host-id")
				}
				r = pki.Agent(hostID)
			default:
				return fmt.Errorf("--role %q: want master or agent", role)
			}
			if err := r.Validate(); err != nil {
				return err
			}
			certPath, keyPath := out+".crt", out+".key"
			for _, p := range []string{certPath, keyPath} {
				if _, err := os.Lstat(p); err == nil {
					return fmt.Errorf("%s exists; refusing to overwrite it", p)
				}
			}
			ca, err := pki.LoadCA(dir)
			if err != nil {
				return err
			}
			certPEM, keyPEM, err := ca.Issue(r, dnsNames, ips, validity, time.Now())
			if err != nil {
				return err
			}
			cert, err := pki.ParseCertificatePEM(certPEM)
			if err != nil {
				return err
			}
			if err := pki.WriteNewFile(keyPath, keyPEM, 0o600); err != nil {
				return err
			}
			if err := pki.WriteNewFile(certPath, certPEM, 0o644); err != nil {
				_ = os.Remove(keyPath)
				return err
			}
			res := pkiIssueOutput{
				Cert:     certPath,
				Key:      keyPath,
				Role:     r.String(),
				Serial:   cert.SerialNumber.Text(16),
				NotAfter: cert.NotAfter.UTC(),
				CAHash:   ca.Hash(),
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "issued %s (serial %s, valid until %s)\n", res.Role, res.Serial, res.NotAfter.Format(time.RFC3339))
			fmt.Fprintf(w, "  certificate %s\n  key         %s\n", res.Cert, res.Key)
			fmt.Fprintf(w, "CA hash: %s\n", res.CAHash)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "CA directory")
	f.StringVar(&role, "role", "", "role of the certificate: master or agent")
	f.StringVar(&hostID, "host-id", "", "agent host id (lowercase letters, digits and '-', at most 63)")
	f.StringSliceVar(&dnsNames, "dns", nil, "DNS names to include (comma-separated or repeated)")
	f.IPSliceVar(&ips, "ip", nil, "IP addresses to include (comma-separated or repeated)")
	f.DurationVar(&validity, "validity", 8760*time.Hour, "how long the certificate is valid")
	f.StringVar(&out, "out", "", "path prefix of the files written: PREFIX.crt and PREFIX.key")
	f.BoolVar(&asJSON, "json", false, "print the paths, role, serial, expiry and CA hash as JSON")
	for _, name := range []string{"dir", "role", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func newPKIHashCmd() *cobra.Command {
	var dir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "hash",
		Short: "Print the CA hash agents pin when they enroll",
		Long: `Print sha256:<hex> over the SubjectPublicKeyInfo of the CA certificate in
--dir (the form of kubeadm's --discovery-token-ca-cert-hash). Only ca.crt
is read; the key is not needed.`,
		Example: `  decnet pki hash --dir /etc/decnet/ca
  decnet pki hash --dir ./ca --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			certPath := filepath.Join(dir, pki.CACertFile)
			data, err := os.ReadFile(certPath)
			if err != nil {
				return err
			}
			cert, err := pki.ParseCertificatePEM(data)
			if err != nil {
				return fmt.Errorf("%s: %w", certPath, err)
			}
			if !cert.IsCA {
				return fmt.Errorf("%s is not a CA certificate", certPath)
			}
			hash := pki.CAHash(cert)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), pkiCAOutput{Dir: dir, Cert: certPath, Hash: hash})
			}
			fmt.Fprintln(cmd.OutOrStdout(), hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "CA directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the path and hash as JSON")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

// pkiCAOutput is the --json output of pki init and pki hash.
type pkiCAOutput struct {
	Dir  string `json:"dir"`
	Cert string `json:"cert"`
	Key  string `json:"key,omitempty"`
	Hash string `json:"hash"`
}

// pkiIssueOutput is the --json output of pki issue.
type pkiIssueOutput struct {
	Cert     string    `json:"cert"`
	Key      string    `json:"key"`
	Role     string    `json:"role"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"not_after"`
	CAHash   string    `json:"ca_hash"`
}
