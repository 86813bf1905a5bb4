package dockerapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/httpapi"
)

// createBody is the part of a container create request the decoy reads.
type createBody struct {
	Hostname     string
	User         string
	Image        string
	Cmd          strList
	Entrypoint   strList
	Env          []string
	WorkingDir   string
	Tty          bool
	OpenStdin    bool
	AttachStdin  bool
	AttachStdout bool
	Labels       map[string]string
	HostConfig   struct {
		Binds         []string
		Privileged    bool
		PidMode       string
		NetworkMode   string
		IpcMode       string
		UsernsMode    string
		CapAdd        []string
		SecurityOpt   []string
		AutoRemove    bool
		RestartPolicy struct{ Name string }
		Devices       []struct{ PathOnHost string }
		Mounts        []struct{ Type, Source, Target string }
	}
}

// strList is a JSON string or list of strings (Cmd and Entrypoint take
// both).
type strList []string

func (s *strList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// parseCreate decodes a create body as the engine does (unknown fields
// ignored); the error text is what the engine answers.
func parseCreate(b []byte) (*createBody, error) {
	var cb createBody
	if len(b) == 0 {
		return nil, fmt.Errorf("invalid JSON: EOF")
	}
	if err := json.Unmarshal(b, &cb); err != nil {
		return nil, fmt.Errorf("invalid JSON: %s", err.Error())
	}
	return &cb, nil
}

var sensitiveHostPaths = []string{"/", "/etc", "/root", "/home", "/var/run/docker.sock", "/run/docker.sock", "/proc", "/sys", "/dev", "/boot", "/var/lib/docker", "/usr", "/var", "/run", "/lib", "/bin", "/sbin", "/var/log"}

var dangerousCaps = map[string]bool{"ALL": true, "SYS_ADMIN": true, "CAP_SYS_ADMIN": true, "SYS_PTRACE": true, "CAP_SYS_PTRACE": true,
	"SYS_MODULE": true, "CAP_SYS_MODULE": true, "DAC_READ_SEARCH": true, "CAP_DAC_READ_SEARCH": true, "SYS_RAWIO": true, "CAP_SYS_RAWIO": true, "NET_ADMIN": true, "CAP_NET_ADMIN": true}

// escapeReasons lists what in a create body reaches out of the container.
func escapeReasons(cb *createBody) (binds []string, reasons []string) {
	hc := cb.HostConfig
	if hc.Privileged {
		reasons = append(reasons, "privileged")
	}
	for k, v := range map[string]string{"pid_host": hc.PidMode, "network_host": hc.NetworkMode, "ipc_host": hc.IpcMode, "userns_host": hc.UsernsMode} {
		if v == "host" {
			reasons = append(reasons, k)
		}
	}
	for _, c := range hc.CapAdd {
		if dangerousCaps[strings.ToUpper(c)] {
			reasons = append(reasons, "cap_"+strings.ToLower(strings.TrimPrefix(strings.ToUpper(c), "CAP_")))
		}
	}
	for _, so := range hc.SecurityOpt {
		if strings.Contains(so, "unconfined") {
			reasons = append(reasons, "unconfined")
		}
	}
	if len(hc.Devices) > 0 {
		reasons = append(reasons, "devices")
	}
	binds = append(binds, hc.Binds...)
	for _, m := range hc.Mounts {
		if strings.EqualFold(m.Type, "bind") {
			binds = append(binds, m.Source+":"+m.Target)
		}
	}
	for _, b := range binds {
		src, _, _ := strings.Cut(b, ":")
		src = strings.TrimRight(src, "/")
		if src == "" {
			src = "/"
		}
		for _, p := range sensitiveHostPaths {
			if src == p || (p != "/" && strings.HasPrefix(src, p+"/")) {
				reasons = append(reasons, "host_mount:"+src)
				break
			}
		}
	}
	sortStrings(reasons)
	return binds, reasons
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// normRef splits an image reference into repository and tag as the
// engine names it locally ("alpine" -> "alpine", "latest").
func normRef(ref string) (repo, tag string) {
	ref = strings.TrimSpace(ref)
	if i := strings.Index(ref, "@"); i >= 0 {
		return normRepo(ref[:i]), ref[i+1:]
	}
	repo, tag = ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	return normRepo(repo), tag
}

func normRepo(r string) string {
	r = strings.TrimPrefix(r, "docker.io/")
	r = strings.TrimPrefix(r, "index.docker.io/")
	return strings.TrimPrefix(r, "library/")
}

func validRef(ref string) bool {
	if ref == "" || len(ref) > 512 || strings.ContainsAny(ref, " \t\r\n\"'\\") || strings.ToLower(ref) != ref && !strings.Contains(ref, ":") {
		return false
	}
	return true
}

// findImage returns a local image by reference or id; s.mu is held.
func (s *Server) findImage(ref string) *image {
	repo, tag := normRef(ref)
	for _, im := range s.images {
		if im.repo == repo && im.tag == tag {
			return im
		}
	}
	id := strings.TrimPrefix(ref, "sha256:")
	if len(id) >= 4 {
		for _, im := range s.images {
			if strings.HasPrefix(strings.TrimPrefix(im.id, "sha256:"), id) {
				return im
			}
		}
	}
	return nil
}

// findContainer returns a container by id prefix or name; s.mu is held.
func (s *Server) findContainer(ref string) *container {
	ref = strings.TrimPrefix(ref, "/")
	for _, c := range s.containers {
		if c.name == ref || c.id == ref {
			return c
		}
	}
	if len(ref) >= 1 {
		for _, c := range s.containers {
			if strings.HasPrefix(c.id, ref) {
				return c
			}
		}
	}
	return nil
}

func textList(l []string) []string {
	out := make([]string, 0, min(len(l), 64))
	for i, v := range l {
		if i >= 64 {
			break
		}
		out = append(out, event.Text([]byte(v), 1024))
	}
	return out
}

func (x *exchange) create() bool {
	cb, err := parseCreate(x.req.Body)
	if err != nil {
		return x.errMsg(400, err.Error())
	}
	name := x.req.Query().Get("name")
	binds, reasons := escapeReasons(cb)
	f := map[string]any{"name": event.Text([]byte(name), 256), "image": event.Text([]byte(cb.Image), 512),
		"cmd": textList(cb.Cmd), "entrypoint": textList(cb.Entrypoint), "env": textList(cb.Env), "binds": textList(binds),
		"privileged": cb.HostConfig.Privileged, "pid_mode": event.Text([]byte(cb.HostConfig.PidMode), 64),
		"network_mode": event.Text([]byte(cb.HostConfig.NetworkMode), 64), "cap_add": textList(cb.HostConfig.CapAdd),
		"escape": len(reasons) > 0, "escape_reasons": reasons}
	if sha, ok := x.fields["sha256"]; ok {
		f["sha256"] = sha
	}
	emit := func(result string) {
		f["result"] = result
		x.c.Session.Emit(event.Event{Type: "docker.container.create", Fields: f})
	}
	if !validRef(cb.Image) {
		emit("invalid_reference")
		return x.errMsg(400, "invalid reference format")
	}
	s := x.s
	s.mu.Lock()
	im := s.findImage(cb.Image)
	if im == nil {
		s.mu.Unlock()
		emit("no_such_image")
		repo, tag := normRef(cb.Image)
		return x.errMsg(404, "No such image: "+repo+":"+tag)
	}
	if name != "" {
		if other := s.findContainer(name); other != nil && other.name == strings.TrimPrefix(name, "/") {
			s.mu.Unlock()
			emit("name_conflict")
			return x.errMsg(409, `Conflict. The container name "/`+strings.TrimPrefix(name, "/")+`" is already in use by container "`+other.id+`". You have to remove (or rename) that container to be able to reuse that name.`)
		}
	} else {
		name = randomName()
	}
	c := &container{id: newID(), name: strings.TrimPrefix(name, "/"), image: im, imageRef: cb.Image, cmd: cb.Cmd, entry: cb.Entrypoint,
		env: append(append([]string(nil), im.env...), cb.Env...), created: s.now(), netMode: "bridge", binds: binds, priv: cb.HostConfig.Privileged,
		restart: cb.HostConfig.RestartPolicy.Name, labels: cb.Labels, autoRemove: cb.HostConfig.AutoRemove, tty: cb.Tty, done: make(chan struct{})}
	if len(cb.Cmd) == 0 && len(cb.Entrypoint) == 0 {
		c.cmd, c.entry = im.cmd, im.entry
	} else if len(cb.Entrypoint) == 0 {
		c.entry = im.entry
	}
	if cb.HostConfig.NetworkMode != "" && cb.HostConfig.NetworkMode != "default" {
		c.netMode = cb.HostConfig.NetworkMode
	}
	c.hostname = c.id[:12]
	if len(s.containers) < maxContainers {
		s.containers = append(s.containers, c)
	}
	s.mu.Unlock()
	f["id"] = c.id
	emit("created")
	return x.json(201, o("Id", c.id, "Warnings", []string{}))
}

var (
	adjectives = []string{"admiring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful", "bold", "boring", "brave", "busy", "charming", "clever", "compassionate", "competent", "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting", "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant", "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical", "relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen"}
	surnames   = []string{"agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "babbage", "banach", "bardeen", "bartik", "bassi", "bell", "benz", "bhabha", "blackwell", "bohr", "booth", "borg", "bose", "boyd", "brahmagupta", "brattain", "brown", "carson", "chandrasekhar", "clarke", "colden", "cori", "cray", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley", "einstein", "elion", "engelbart", "euclid", "euler", "fermat", "fermi", "feynman", "franklin", "galileo", "gates", "goldberg", "goodall", "hamilton", "hawking", "heisenberg", "hermann", "hodgkin", "hoover", "hopper", "hugle", "hypatia", "jackson", "jang", "jennings", "jepsen", "joliot", "jones", "kalam", "keller", "kepler", "khorana", "kilby", "kirch", "knuth", "kowalevski", "lalande", "lamarr", "leakey", "leavitt", "lewin", "lichterman", "liskov", "lovelace", "lumiere", "mahavira", "mayer", "mccarthy", "mcclintock", "mclean", "meitner", "mendel", "merkle", "minsky", "mirzakhani", "montalcini", "moore", "morse", "napier", "nash", "neumann", "newton", "nobel", "noether", "noyce", "pare", "pascal", "pasteur", "payne", "perlman", "pike", "poincare", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "roentgen", "rosalind", "saha", "sammet", "shannon", "shaw", "shockley", "sinoussi", "snyder", "spence", "stonebraker", "swanson", "swartz", "tesla", "thompson", "torvalds", "turing", "varahamihira", "visvesvaraya", "wescoff", "wiles", "williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath"}
)

// randomName is the engine's generated "adjective_surname" name.
func randomName() string {
	return adjectives[rand.IntN(len(adjectives))] + "_" + surnames[rand.IntN(len(surnames))]
}

// pull answers POST /images/create: the progress of a pull that
// succeeds, the image then listed like any other.
func (x *exchange) pull() bool {
	q := x.req.Query()
	from, tag := q.Get("fromImage"), q.Get("tag")
	if from == "" {
		if q.Get("fromSrc") != "" {
			return x.errMsg(500, "Get \""+q.Get("fromSrc")+"\": dial tcp: lookup on 127.0.0.53:53: server misbehaving")
		}
		return x.errMsg(400, "invalid reference format")
	}
	if tag == "" && !strings.Contains(from[strings.LastIndex(from, "/")+1:], ":") && !strings.Contains(from, "@") {
		tag = "latest"
	}
	ref := from
	if tag != "" {
		ref = from + ":" + tag
	}
	repo, t := normRef(ref)
	familiar := repo + ":" + t
	if strings.HasPrefix(t, "sha256:") {
		familiar = repo + "@" + t
	}
	registry := "docker.io"
	if first, _, ok := strings.Cut(from, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		registry = first
	}
	f := map[string]any{"from_image": event.Text([]byte(from), 512), "tag": event.Text([]byte(tag), 128), "registry": event.Text([]byte(registry), 256)}
	e := event.Event{Type: "docker.image.pull", Fields: f}
	if auth := x.req.Get("X-Registry-Auth"); auth != "" {
		raw, err := base64.URLEncoding.DecodeString(auth)
		if err != nil {
			raw, _ = base64.StdEncoding.DecodeString(auth)
		}
		var a struct{ Username, Password, Serveraddress, IdentityToken string }
		if json.Unmarshal(raw, &a) == nil && (a.Username != "" || a.Password != "" || a.IdentityToken != "") {
			secret := a.Password
			if secret == "" {
				secret = a.IdentityToken
			}
			e.Credential = event.NewCredential("plaintext", "registry_auth", a.Username, []byte(secret), true)
			e.Credential.Material = map[string]any{"serveraddress": event.Text([]byte(a.Serveraddress), 256)}
		}
	}
	x.c.Session.Emit(e)
	if !validRef(ref) {
		return x.errMsg(400, "invalid reference format")
	}
	s := x.s
	s.mu.Lock()
	im := s.findImage(ref)
	fresh := im == nil
	if fresh {
		im = pulledImage(s.env.Identity, repo, t, s.now())
		if len(s.images) < maxImages {
			s.images = append(s.images, im)
		}
	}
	s.mu.Unlock()
	x.status = 200
	st, err := httpapi.StartStream(x.c, x.req, 200, append(x.mwHeaders(), httpapi.Header{Name: "Content-Type", Value: "application/json"}), s.now())
	if err != nil {
		return false
	}
	line := func(v any) bool {
		_, err := st.Write(httpapi.GoJSON(v))
		return err == nil
	}
	pace := func(d time.Duration) bool {
		select {
		case <-x.ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	display := repo
	if !strings.Contains(display, "/") {
		display = "library/" + display
	}
	if !line(o("status", "Pulling from "+display, "id", t)) {
		return false
	}
	if fresh {
		var layers []string
		for i := range 2 + len(im.id)%3 {
			sum := sha256.Sum256([]byte(im.id + "/layer/" + strconv.Itoa(i)))
			layers = append(layers, hex.EncodeToString(sum[:6]))
		}
		for _, l := range layers {
			line(o("status", "Pulling fs layer", "progressDetail", o(), "id", l))
		}
		for _, l := range layers {
			if !pace(time.Duration(150+rand.IntN(400)) * time.Millisecond) {
				return false
			}
			line(o("status", "Verifying Checksum", "progressDetail", o(), "id", l))
			line(o("status", "Download complete", "progressDetail", o(), "id", l))
		}
		for _, l := range layers {
			if !pace(time.Duration(100+rand.IntN(300)) * time.Millisecond) {
				return false
			}
			line(o("status", "Pull complete", "progressDetail", o(), "id", l))
		}
	}
	line(o("status", "Digest: "+im.digest[strings.Index(im.digest, "@")+1:]))
	if fresh {
		line(o("status", "Status: Downloaded newer image for "+familiar))
	} else {
		line(o("status", "Status: Image is up to date for "+familiar))
	}
	_ = st.Close()
	return x.req.KeepAlive() && x.req.Minor >= 1
}

func (x *exchange) imageInspect(ref string) bool {
	s := x.s
	s.mu.Lock()
	im := s.findImage(ref)
	s.mu.Unlock()
	if im == nil {
		repo, tag := normRef(ref)
		return x.errMsg(404, "No such image: "+repo+":"+tag)
	}
	return x.json(200, o("Id", im.id, "RepoTags", []string{im.ref()}, "RepoDigests", []string{im.digest}, "Parent", "", "Comment", "",
		"Created", im.created.UTC().Format(time.RFC3339Nano), "Container", "", "DockerVersion", "", "Author", "",
		"Config", o("Hostname", "", "Domainname", "", "User", "", "AttachStdin", false, "AttachStdout", false, "AttachStderr", false,
			"Tty", false, "OpenStdin", false, "StdinOnce", false, "Env", im.env, "Cmd", im.cmd, "Image", "", "Volumes", nil,
			"WorkingDir", im.workdir, "Entrypoint", nilIfEmpty(im.entry), "OnBuild", nil, "Labels", nil),
		"Architecture", "amd64", "Os", "linux", "Size", im.size, "VirtualSize", im.size,
		"GraphDriver", o("Data", o("MergedDir", "/var/lib/docker/overlay2/"+strings.TrimPrefix(im.id, "sha256:")[:26]+"/merged"), "Name", "overlay2"),
		"RootFS", o("Type", "layers", "Layers", []string{im.id}), "Metadata", o("LastTagTime", "0001-01-01T00:00:00Z")))
}

func nilIfEmpty(l []string) any {
	if len(l) == 0 {
		return nil
	}
	return l
}
