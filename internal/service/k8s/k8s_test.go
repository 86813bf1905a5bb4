package k8s_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/k8s"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// jwt is a service-account token whose subject is
// system:serviceaccount:kube-system:default.
const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6a3ViZS1zeXN0ZW06ZGVmYXVsdCJ9.c2ln"

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	bin := testenv.RequireTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// kubectl asks for a username on a terminal when its configuration
	// has no credentials at all; a kubeconfig user with basic-auth fields
	// avoids that, and since 1.19 no authenticator takes basic
	// credentials, so the apiserver treats the requests as anonymous.
	cfg := t.TempDir() + "/config"
	os.WriteFile(cfg, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n"+
		"users:\n- name: u\n  user: {username: admin, password: admin123}\n- name: t\n  user: {token: "+jwt+"}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"), 0o600)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cfg, "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestKubectl(t *testing.T) {
	r := servicetest.Start(t, "k8s", 6443, servicetest.Options{Hostname: "k8s-cp-01"})
	server := "https://" + r.HostPort(6443)
	out, err := run(t, "kubectl", "--server", server, "--insecure-skip-tls-verify", "version", "-o", "json")
	t.Logf("kubectl version:\n%s", out)
	if err != nil || !strings.Contains(out, `"gitVersion": "v1.27.4"`) || !strings.Contains(out, `"gitCommit": "fa3d7990104d7c1f16943a67f11b154b71f6a132"`) {
		t.Errorf("kubectl version: %v\n%s", err, out)
	}
	out, err = run(t, "kubectl", "--server", server, "--insecure-skip-tls-verify", "get", "pods")
	t.Logf("kubectl get pods:\n%s", out)
	want := `Error from server (Forbidden): pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"`
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("kubectl get pods: %v\n%s", err, out)
	}
	out, err = run(t, "kubectl", "--server", server, "--insecure-skip-tls-verify", "--user", "t", "get", "secrets", "-A")
	t.Logf("kubectl get secrets with a token:\n%s", out)
	if err == nil || !strings.Contains(out, "error: You must be logged in to the server (the server has asked for the client to provide credentials)") {
		t.Errorf("with a token: %v\n%s", err, out)
	}
	e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool { return e.Type == "k8s.login.failed" && e.Fields["auth"] == "bearer" })
	if !ok || e.Credential == nil || e.Credential.Principal != "system:serviceaccount:kube-system:default" {
		t.Errorf("token not captured: %v %+v", ok, e.Credential)
	}
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"hostPID":true,"containers":[{"name":"x","image":"alpine","command":["nsenter","-t","1","-m","sh"],"securityContext":{"privileged":true}}],"volumes":[{"name":"h","hostPath":{"path":"/"}}]}}`
	f := t.TempDir() + "/pod.json"
	os.WriteFile(f, []byte(pod), 0o600)
	out, err = run(t, "kubectl", "--server", server, "--insecure-skip-tls-verify", "create", "-f", f, "--validate=false")
	t.Logf("kubectl create:\n%s", out)
	if err == nil || !strings.Contains(out, `pods is forbidden: User "system:anonymous" cannot create resource "pods" in API group "" in the namespace "default"`) {
		t.Errorf("create pod: %v\n%s", err, out)
	}
	e, ok = r.Events.Wait(5*time.Second, event.OfType("k8s.pod.create"))
	if !ok || e.Fields["escape"] != true || e.Fields["sha256"] == nil || e.Fields["host_pid"] != true {
		t.Errorf("pod.create: %v %+v", ok, e.Fields)
	}
}

func TestCurl(t *testing.T) {
	r := servicetest.Start(t, "k8s", 6443, servicetest.Options{Hostname: "k8s-cp-01"})
	base := "https://" + r.HostPort(6443)
	out, err := run(t, "curl", "-s", "-k", "-i", "--http1.1", base+"/")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "HTTP/1.1 403 Forbidden\r\nAudit-Id: ") || !strings.Contains(out, "\r\nCache-Control: no-cache, private\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nX-Kubernetes-Pf-Flowschema-Uid: ") ||
		!strings.HasSuffix(out, "\r\n\r\n"+`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \"system:anonymous\" cannot get path \"/\"","reason":"Forbidden","details":{},"code":403}`+"\n") {
		t.Errorf("GET /:\n%s", out)
	}
	out, _ = run(t, "curl", "-s", "-k", base+"/api")
	if !strings.Contains(out, `"serverAddress":"`+r.Addr.String()+`:6443"`) {
		t.Errorf("/api: %s", out)
	}
	out, _ = run(t, "curl", "-s", "-k", "--http2", "-w", "%{http_version}", base+"/healthz")
	if out != "ok2" {
		t.Errorf("/healthz over h2: %q", out)
	}
	out, _ = run(t, "curl", "-s", "-k", base+"/api/v1/namespaces/kube-system/secrets/admin-token")
	if !strings.Contains(out, `"message":"secrets \"admin-token\" is forbidden: User \"system:anonymous\" cannot get resource \"secrets\" in API group \"\" in the namespace \"kube-system\"","reason":"Forbidden","details":{"name":"admin-token","kind":"secrets"},"code":403}`) {
		t.Errorf("named secret: %s", out)
	}
	// The certificate kubeadm would have made.
	c, err := tls.Dial("tcp", r.HostPort(6443), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := c.ConnectionState()
	leaf := st.PeerCertificates[0]
	if st.NegotiatedProtocol != "h2" || leaf.Subject.CommonName != "kube-apiserver" || leaf.Issuer.CommonName != "kubernetes" ||
		strings.Join(leaf.DNSNames, ",") != "kubernetes,kubernetes.default,kubernetes.default.svc,kubernetes.default.svc.cluster.local,k8s-cp-01" {
		t.Errorf("TLS: alpn %q, cert %v issued by %v, SANs %v %v", st.NegotiatedProtocol, leaf.Subject, leaf.Issuer, leaf.DNSNames, leaf.IPAddresses)
	}
}

func TestNmap(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	if testing.Short() {
		t.Skip("nmap's SSL probes take about 100 s against a Go TLS server")
	}
	nmap := testenv.RequireTool(t, "nmap")
	r := servicetest.Start(t, "k8s", 6443, servicetest.Options{})
	out, err := exec.Command(nmap, "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", r.Port(6443), r.Addr.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	t.Logf("nmap:\n%s", out)
	if !strings.Contains(string(out), "6443/tcp open  ssl/") || strings.Contains(strings.ToLower(string(out)), "honeypot") {
		t.Errorf("nmap:\n%s", out)
	}
}

func TestClientCertificate(t *testing.T) {
	r := servicetest.Start(t, "k8s", 6443, servicetest.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	c, err := tls.Dial("tcp", r.HostPort(6443), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"},
		// Go clients offer a certificate only to a server that lists its
		// issuer; curl and openssl offer theirs regardless. Force it.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /api/v1/secrets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	out, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(out), "HTTP/1.1 401 Unauthorized\r\n") || !strings.HasSuffix(string(out), `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`+"\n") {
		t.Errorf("with a foreign client certificate:\n%s", out)
	}
	e, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool { return e.Type == "k8s.login.failed" && e.Fields["auth"] == "x509" })
	if !ok || e.Credential.Principal != "kubernetes-admin" || len(e.Fields["fingerprint"].(string)) != 64 {
		t.Errorf("client certificate not captured: %v %+v", ok, e)
	}
}
