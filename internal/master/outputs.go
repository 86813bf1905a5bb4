package master

import (
	"cmp"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/output"
	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/store"
)

// Where an output comes from.
const (
	// OutputSourceAPI outputs are stored in the database and managed
	// through the operator API.
	OutputSourceAPI = "api"
	// OutputSourceFlag outputs are given as command-line flags of the
	// master: shown and test-fireable, never edited through the API.
	OutputSourceFlag = "flag"
)

// OutputTestTimeout bounds one test-fire.
const OutputTestTimeout = 15 * time.Second

// In the data directory: the key of the stored webhook secrets, and the
// only directory API file outputs may write in.
const (
	outputKeyFile = "outputs.key"
	outputDir     = "outputs"
)

// Outputs runs the master's SIEM outputs (package output) and lets an
// admin manage them while the master runs.
//
// Every enabled output is its own durable consumer of the bus (output.Run,
// durable "output-<name>") driven by one goroutine the manager owns.
// Replacing an output stops its goroutine and starts a new one on the same
// durable consumer, so the new config resumes where the old one stopped;
// disabling stops it and keeps the position; deleting stops it and
// deletes the durable consumer from the stream.
//
// Stored configs never hold a webhook secret in clear: it is sealed with
// AES-256-GCM under DataDir/outputs.key (32 random bytes, mode 0600, made
// on first use). An output made through the API may write a file only
// under DataDir/outputs, and may not name CA or certificate files.
//
// Lifecycle and goroutines: NewOutputs starts nothing. Run starts the
// outputs and returns when ctx is done, after every goroutine it started
// has ended. Create, Replace, Delete, SetEnabled and Test answer 503
// (api.Error) unless Run is running; List and Get read the store then.
// Every method is safe for concurrent use.
type Outputs struct {
	st      store.Store
	dataDir string
	log     *slog.Logger

	keyMu sync.Mutex
	key   []byte

	// mu serialises changes: the store write, then stopping and starting
	// the goroutine, so the database and what runs never disagree.
	mu      sync.Mutex
	js      jetstream.JetStream
	running bool
	entries map[string]*outputEntry // nil until Run
}

// outputEntry is one output the manager knows. Fields are guarded by
// Outputs.mu.
type outputEntry struct {
	cfg     output.Config // the secret in clear
	source  string
	enabled bool
	created time.Time
	updated time.Time
	out     output.Output // the last instance built; its Status outlives a stop
	run     *outputRun    // nil when not running
	broken  string        // why the stored config is unusable (cleared by a replace)
	err     string        // why it could not be built
	test    *OutputTest
}

// outputRun is one goroutine running an output.
type outputRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    atomic.Pointer[string] // the last error of output.Run, retried
}

// OutputView is an output as the API and the dashboard show it: its
// config (secret always redacted), where it comes from, whether it runs,
// and its delivery state.
type OutputView struct {
	// Config is the output's config; its Secret is always empty.
	output.Config
	// SecretSet tells whether the webhook has a secret, never shown.
	SecretSet bool `json:"secret_set"`
	// ResolvedPath is the file an API file output writes: Path, under
	// the master's DataDir/outputs.
	ResolvedPath string `json:"resolved_path,omitempty"`
	// Source is OutputSourceAPI or OutputSourceFlag.
	Source string `json:"source"`
	// Enabled is the admin's switch; Running says a goroutine consumes
	// for the output (a webhook that disabled itself still runs, paused:
	// see Status.Disabled).
	Enabled bool `json:"enabled"`
	Running bool `json:"running"`
	// State sums the switch, the consumer and the webhook's own switch:
	// "disabled", "paused" (a webhook that disabled itself), "failing",
	// "running" or "stopped".
	State string `json:"state"`
	// Error says why the output could not start (unreadable stored
	// secret, bad CA file), or is the last error of its consumer, which
	// is retried.
	Error string `json:"error,omitempty"`
	// Status is the delivery state of the output's current (or last)
	// instance; counters restart when the output is started again.
	Status   output.Status `json:"status"`
	LastTest *OutputTest   `json:"last_test,omitempty"`
	// CreatedAt and UpdatedAt are set for API outputs.
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// OutputTest is the result of a test-fire: a sample event (type
// output.TestEventType) sent through the output once.
type OutputTest struct {
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
}

// OutputFieldError is one problem of an output config, as the API lists
// them in an INVALID error's details.
type OutputFieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// NewOutputs returns a manager of the outputs stored in st; dataDir holds
// the secret key and API file outputs. It starts nothing.
func NewOutputs(st store.Store, dataDir string, log *slog.Logger) *Outputs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outputs{st: st, dataDir: dataDir, log: log.With("component", "outputs")}
}

// Run starts the outputs given as flags and the enabled stored ones, then
// keeps them running until ctx is done; it stops every output and returns
// nil then. A flag output that cannot be built fails Run at once, as a
// wrong flag should; a stored one only reports its error (OutputView), so
// one bad row cannot keep the master down. Run may be called once.
func (o *Outputs) Run(ctx context.Context, js jetstream.JetStream, flags []output.Config) error {
	entries := map[string]*outputEntry{}
	built := map[string]output.Output{}
	closeBuilt := func() {
		for _, b := range built {
			_ = b.Close()
		}
	}
	for _, c := range flags {
		if _, dup := entries[c.Name]; dup {
			closeBuilt()
			return fmt.Errorf("outputs: two outputs named %q", c.Name)
		}
		out, err := o.build(c, OutputSourceFlag)
		if err != nil {
			closeBuilt()
			return fmt.Errorf("output %s: %w", c.Name, err)
		}
		built[c.Name] = out
		entries[c.Name] = &outputEntry{cfg: c, source: OutputSourceFlag, enabled: true}
	}
	rows, err := o.st.ListOutputs(ctx)
	if err != nil {
		closeBuilt()
		return fmt.Errorf("outputs: %w", err)
	}
	for i := range rows {
		if _, taken := entries[rows[i].Name]; taken {
			o.log.Warn("stored output shadowed by the command-line output of the same name; it does not run", "output", rows[i].Name)
			continue
		}
		entries[rows[i].Name] = o.entryOf(&rows[i])
	}

	o.mu.Lock()
	if o.entries != nil {
		o.mu.Unlock()
		closeBuilt()
		return errors.New("outputs: Run called twice")
	}
	o.js, o.entries, o.running = js, entries, true
	for name, e := range entries {
		switch {
		case built[name] != nil:
			o.startWith(e, built[name])
		case e.enabled:
			o.start(e)
		}
	}
	n := len(entries)
	o.mu.Unlock()
	o.log.Info("outputs started", "outputs", n)

	<-ctx.Done()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.running = false
	for _, e := range o.entries {
		if e.run != nil {
			e.run.cancel() // all at once, then wait for each
		}
	}
	for _, e := range o.entries {
		o.stop(e)
	}
	return nil
}

// entryOf is the entry of a stored output; a config that cannot be read
// or decrypted leaves the error in the entry.
func (o *Outputs) entryOf(r *store.OutputRow) *outputEntry {
	e := &outputEntry{source: OutputSourceAPI, enabled: r.Enabled, created: r.CreatedAt, updated: r.UpdatedAt}
	cfg, err := o.openConfig(r)
	e.cfg = cfg
	if err != nil {
		e.broken = err.Error()
		o.log.Error("stored output unusable", "output", r.Name, "err", err)
	}
	return e
}

// start builds e's output and starts its goroutine; a build error stays
// in e. Called with mu held.
func (o *Outputs) start(e *outputEntry) {
	if e.run != nil || e.broken != "" {
		return
	}
	out, err := o.build(e.cfg, e.source)
	if err != nil {
		e.err = err.Error()
		o.log.Error("output not started", "output", e.cfg.Name, "err", err)
		return
	}
	o.startWith(e, out)
}

// startWith runs out for e. Called with mu held.
func (o *Outputs) startWith(e *outputEntry, out output.Output) {
	// Not derived from Run's ctx, which this struct must not keep: Run
	// cancels every run itself when its ctx is done.
	ctx, cancel := context.WithCancel(context.Background())
	r := &outputRun{cancel: cancel, done: make(chan struct{})}
	e.out, e.run, e.err = out, r, ""
	go o.runOutput(ctx, o.js, r, out)
}

// runOutput runs out until ctx is done, restarting output.Run (with a
// backoff from 1 s to 1 min) when it returns early, then closes out.
func (o *Outputs) runOutput(ctx context.Context, js jetstream.JetStream, r *outputRun, out output.Output) {
	defer close(r.done)
	defer func() {
		if err := out.Close(); err != nil {
			o.log.Warn("close output", "output", out.Name(), "err", err)
		}
	}()
	delay := time.Second
	for {
		err := output.Run(ctx, js, out, o.log)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("consumer stopped")
		}
		msg := err.Error()
		r.err.Store(&msg)
		o.log.Warn("output stopped; restarting", "output", out.Name(), "retry_in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, time.Minute)
	}
}

// stop ends e's goroutine and waits for it; the durable consumer and its
// position stay. Called with mu held.
func (o *Outputs) stop(e *outputEntry) {
	if e.run == nil {
		return
	}
	e.run.cancel()
	<-e.run.done
	e.run = nil
}

// build makes the output of cfg; an API file output's bare name becomes
// its path under DataDir/outputs.
func (o *Outputs) build(cfg output.Config, source string) (output.Output, error) {
	if source == OutputSourceAPI && cfg.Kind == output.KindFile {
		p, err := o.filePath(cfg.Path)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, fmt.Errorf("output %s: %w", cfg.Name, err)
		}
		cfg.Path = p
	}
	return output.New(cfg)
}

var fileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// filePath resolves the file name of an API file output: a bare name,
// so it cannot leave DataDir/outputs.
func (o *Outputs) filePath(name string) (string, error) {
	if !fileNameRE.MatchString(name) {
		return "", fmt.Errorf("file name %q: want letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	return filepath.Join(o.dataDir, outputDir, name), nil
}

// pathOf is the absolute file e's output writes, "" when it is not a
// file output.
func (o *Outputs) pathOf(cfg output.Config, source string) string {
	if cfg.Kind != output.KindFile {
		return ""
	}
	p := cfg.Path
	if source == OutputSourceAPI {
		var err error
		if p, err = o.filePath(p); err != nil {
			return ""
		}
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// checkFileClash refuses a file output writing the file of another one,
// or one of its rotated files (path.1, path.2, ...). Called with mu held.
func (o *Outputs) checkFileClash(cfg output.Config) error {
	p := o.pathOf(cfg, OutputSourceAPI)
	if p == "" {
		return nil
	}
	for name, e := range o.entries {
		q := o.pathOf(e.cfg, e.source)
		if name == cfg.Name || q == "" {
			continue
		}
		if p == q || rotationOf(p, q) || rotationOf(q, p) {
			return api.Errorf(http.StatusConflict, api.CodeConflict, "output %q already writes %s (or its rotated files); pick another file name", name, q)
		}
	}
	return nil
}

// rotationOf reports whether q is a rotated file of p: p.<digits>.
func rotationOf(p, q string) bool {
	n, ok := strings.CutPrefix(q, p+".")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

// checkAPIConfig validates a config made through the API: output.Config's
// rules plus no CA or certificate files and a bare file name. The error
// is a 400 listing every field's problem.
func checkAPIConfig(c output.Config) error {
	var errs []error
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.CA != "" || c.Cert != "" || c.Key != "" {
		errs = append(errs, &output.ConfigError{Field: "ca", Problem: "ca, cert and key name files on the master and are not accepted through the API; " +
			"an output that needs them is set with the command-line flags of decnet master (--output-tls-ca, --output-tls-cert, --output-tls-key)"})
	}
	if c.Kind == output.KindFile && c.Path != "" && !fileNameRE.MatchString(c.Path) {
		errs = append(errs, &output.ConfigError{Field: "path", Problem: fmt.Sprintf("%q: give a bare file name (letters, digits, '.', '_' and '-', "+
			"starting with a letter or digit); it is written in the outputs directory of the master's data directory; "+
			"absolute paths, directories and '..' are refused", c.Path)})
	}
	return configInvalid(errors.Join(errs...))
}

// configInvalid turns output config errors into a 400 whose details list
// each field's problem.
func configInvalid(err error) error {
	if err == nil {
		return nil
	}
	var details []OutputFieldError
	var msgs []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		var ce *output.ConfigError
		if errors.As(err, &ce) {
			details = append(details, OutputFieldError{Field: ce.Field, Message: ce.Problem})
			msgs = append(msgs, ce.Field+": "+ce.Problem)
			return
		}
		details = append(details, OutputFieldError{Message: err.Error()})
		msgs = append(msgs, err.Error())
	}
	walk(err)
	return &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalid,
		Message: "invalid output config: " + strings.Join(msgs, "; "), Details: details}
}

// entryLocked returns the running output name; o.mu is held.
func (o *Outputs) entryLocked(name string) (*outputEntry, error) {
	if !o.running {
		return nil, errOutputsNotRunning()
	}
	if e := o.entries[name]; e != nil {
		return e, nil
	}
	return nil, errNoOutput(name)
}

func errOutputsNotRunning() error {
	return api.Errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "outputs are not running (the master is starting or stopping); retry")
}

func errNoOutput(name string) error {
	return api.Errorf(http.StatusNotFound, api.CodeNotFound, "no output %q", name)
}

func errFlagOutput(name, what string) error {
	return api.Errorf(http.StatusConflict, api.CodeConflict,
		"output %q is set by a command-line flag of the master and cannot be %s through the API; change the master's flags and restart it", name, what)
}

// ---- reads

// List returns every output by name, with its status. Before Run (or
// after it) it lists the stored outputs, none running.
func (o *Outputs) List(ctx context.Context) ([]OutputView, error) {
	o.mu.Lock()
	if o.running {
		defer o.mu.Unlock()
		names := make([]string, 0, len(o.entries))
		for n := range o.entries {
			names = append(names, n)
		}
		slices.Sort(names)
		out := make([]OutputView, 0, len(names))
		for _, n := range names {
			out = append(out, o.viewOf(o.entries[n]))
		}
		return out, nil
	}
	o.mu.Unlock()
	rows, err := o.st.ListOutputs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]OutputView, 0, len(rows))
	for i := range rows {
		out = append(out, o.rowView(&rows[i]))
	}
	return out, nil
}

// Get returns one output; a 404 api.Error when there is none.
func (o *Outputs) Get(ctx context.Context, name string) (*OutputView, error) {
	o.mu.Lock()
	if o.running {
		defer o.mu.Unlock()
		e := o.entries[name]
		if e == nil {
			return nil, errNoOutput(name)
		}
		v := o.viewOf(e)
		return &v, nil
	}
	o.mu.Unlock()
	r, err := o.st.Output(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoOutput(name)
	}
	if err != nil {
		return nil, err
	}
	v := o.rowView(r)
	return &v, nil
}

// viewOf is e's view. Called with mu held.
func (o *Outputs) viewOf(e *outputEntry) OutputView {
	v := OutputView{Config: e.cfg, SecretSet: e.cfg.Secret != "", Source: e.source, Enabled: e.enabled,
		Running: e.run != nil, Error: cmp.Or(e.broken, e.err), LastTest: e.test,
		Status: output.Status{Name: e.cfg.Name, Kind: e.cfg.Kind}}
	v.Secret = ""
	if e.source == OutputSourceAPI {
		v.ResolvedPath = o.pathOf(e.cfg, e.source)
		created, updated := e.created, e.updated
		v.CreatedAt, v.UpdatedAt = &created, &updated
	}
	if rep, ok := e.out.(output.Reporter); ok {
		v.Status = rep.Status()
	}
	if e.run != nil && v.Error == "" {
		if msg := e.run.err.Load(); msg != nil {
			v.Error = *msg
		}
	}
	v.State = stateOf(v)
	return v
}

func stateOf(v OutputView) string {
	switch {
	case !v.Enabled:
		return "disabled"
	case v.Status.Disabled:
		return "paused"
	case v.Error != "" || v.Running && v.Status.ConsecutiveFailures > 0:
		return "failing"
	case v.Running:
		return "running"
	default:
		return "stopped"
	}
}

// rowView is the view of a stored output while nothing runs.
func (o *Outputs) rowView(r *store.OutputRow) OutputView {
	var cfg output.Config
	err := json.Unmarshal(r.Config, &cfg)
	cfg.Name = r.Name
	if cfg.Kind == "" {
		cfg.Kind = r.Kind
	}
	created, updated := r.CreatedAt, r.UpdatedAt
	v := OutputView{Config: cfg, SecretSet: cfg.Secret != "", Source: OutputSourceAPI, Enabled: r.Enabled,
		Status: output.Status{Name: r.Name, Kind: cfg.Kind}, CreatedAt: &created, UpdatedAt: &updated}
	v.Secret = ""
	v.ResolvedPath = o.pathOf(cfg, OutputSourceAPI)
	if err != nil {
		v.Error = fmt.Sprintf("stored config unreadable: %v", err)
	}
	v.State = stateOf(v)
	return v
}

// ---- changes

// Create stores a new API output and starts it when enabled. Errors are
// api.Error: 400 with the field problems, 409 when the name is taken.
func (o *Outputs) Create(ctx context.Context, cfg output.Config, enabled bool) (*OutputView, error) {
	if !cfg.TakesSecret() {
		cfg.Secret = ""
	}
	if err := checkAPIConfig(cfg); err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.running {
		return nil, errOutputsNotRunning()
	}
	if e := o.entries[cfg.Name]; e != nil {
		if e.source == OutputSourceFlag {
			return nil, api.Errorf(http.StatusConflict, api.CodeConflict, "output %q is set by a command-line flag of the master; pick another name", cfg.Name)
		}
		return nil, api.Errorf(http.StatusConflict, api.CodeConflict, "an output named %q exists; replace it with PUT", cfg.Name)
	}
	if err := o.checkFileClash(cfg); err != nil {
		return nil, err
	}
	raw, err := o.seal(cfg)
	if err != nil {
		return nil, err
	}
	row := &store.OutputRow{Name: cfg.Name, Kind: cfg.Kind, Config: raw, Enabled: enabled}
	if err := o.st.CreateOutput(ctx, row); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, api.Errorf(http.StatusConflict, api.CodeConflict, "an output named %q exists; replace it with PUT", cfg.Name)
		}
		return nil, err
	}
	e := &outputEntry{cfg: cfg, source: OutputSourceAPI, enabled: enabled, created: row.CreatedAt, updated: row.UpdatedAt}
	o.entries[cfg.Name] = e
	if enabled {
		o.start(e)
	}
	o.log.Info("output created", "output", cfg.Name, "kind", cfg.Kind, "enabled", enabled)
	v := o.viewOf(e)
	return &v, nil
}

// Replace replaces the config of an API output: the old instance stops,
// and a new one starts (when enabled) on the same durable consumer, from
// the same position. An empty webhook secret keeps the current one; a nil
// enabled keeps the current switch. cfg.Name must be empty or name.
func (o *Outputs) Replace(ctx context.Context, name string, cfg output.Config, enabled *bool) (*OutputView, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, err := o.entryLocked(name)
	switch {
	case err != nil:
		return nil, err
	case e.source == OutputSourceFlag:
		return nil, errFlagOutput(name, "changed")
	case cfg.Name != "" && cfg.Name != name:
		return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalid,
			"name %q differs from the output's name %q; an output cannot be renamed: create the new one and delete this one", cfg.Name, name)
	}
	cfg.Name = name
	switch {
	case !cfg.TakesSecret():
		cfg.Secret = ""
	case cfg.Secret == "" && e.cfg.Kind == cfg.Kind:
		cfg.Secret = e.cfg.Secret
	}
	if err := checkAPIConfig(cfg); err != nil {
		return nil, err
	}
	if err := o.checkFileClash(cfg); err != nil {
		return nil, err
	}
	en := e.enabled
	if enabled != nil {
		en = *enabled
	}
	raw, err := o.seal(cfg)
	if err != nil {
		return nil, err
	}
	row := &store.OutputRow{Name: name, Kind: cfg.Kind, Config: raw, Enabled: en}
	if err := o.st.UpdateOutput(ctx, row); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errNoOutput(name)
		}
		return nil, err
	}
	o.stop(e)
	e.cfg, e.enabled, e.created, e.updated = cfg, en, row.CreatedAt, row.UpdatedAt
	e.out, e.broken, e.err, e.test = nil, "", "", nil
	if en {
		o.start(e)
	}
	o.log.Info("output replaced", "output", name, "kind", cfg.Kind, "enabled", en)
	v := o.viewOf(e)
	return &v, nil
}

// Delete stops an API output, deletes it from the store and deletes its
// durable consumer from the stream, so a new output of the same name
// starts afresh.
func (o *Outputs) Delete(ctx context.Context, name string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, err := o.entryLocked(name)
	switch {
	case err != nil:
		return err
	case e.source == OutputSourceFlag:
		return errFlagOutput(name, "deleted")
	}
	if err := o.st.DeleteOutput(ctx, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	o.stop(e)
	delete(o.entries, name)
	o.log.Info("output deleted", "output", name)
	durable := output.DurablePrefix + name
	err = o.js.DeleteConsumer(ctx, bus.StreamName, durable)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		o.log.Error("output deleted but not its durable consumer", "output", name, "durable", durable, "err", err)
		return api.Errorf(http.StatusServiceUnavailable, api.CodeUnavailable,
			"output %s is deleted, but its durable consumer %s could not be removed from stream %s (%v); remove it with: nats consumer rm %s %s",
			name, durable, bus.StreamName, err, bus.StreamName, durable)
	}
	return nil
}

// enabler is an output that can be switched back on after it disabled
// itself (output.Webhook).
type enabler interface{ Enable() }

// SetEnabled switches an output on or off. Off stops it, keeping its
// position in the stream; on starts it again from there, and also
// re-enables a webhook that disabled itself after repeated failures
// (the only change a flag output accepts).
func (o *Outputs) SetEnabled(ctx context.Context, name string, enabled bool) (*OutputView, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, err := o.entryLocked(name)
	switch {
	case err != nil:
		return nil, err
	case e.source == OutputSourceFlag && !enabled:
		return nil, errFlagOutput(name, "disabled")
	}
	if e.source == OutputSourceAPI && e.enabled != enabled {
		row, err := o.st.Output(ctx, name)
		if err != nil {
			return nil, err
		}
		row.Enabled = enabled
		if err := o.st.UpdateOutput(ctx, row); err != nil {
			return nil, err
		}
		e.enabled, e.updated = enabled, row.UpdatedAt
	}
	switch {
	case !enabled:
		o.stop(e)
	case e.run == nil:
		o.start(e)
	default:
		if en, ok := e.out.(enabler); ok {
			en.Enable()
		}
	}
	o.log.Info("output switched", "output", name, "enabled", enabled)
	v := o.viewOf(e)
	return &v, nil
}

// Test sends a sample event through the output once, within
// OutputTestTimeout: through the running instance, or through a
// temporary one when the output is stopped. A failed test is a result,
// not an error; the error is for an unknown output.
func (o *Outputs) Test(ctx context.Context, name string) (*OutputTest, error) {
	o.mu.Lock()
	e, err := o.entryLocked(name)
	if err != nil {
		o.mu.Unlock()
		return nil, err
	}
	cfg, source, broken := e.cfg, e.source, e.broken
	var out output.Output
	if e.run != nil {
		out = e.out
	}
	o.mu.Unlock()

	err = func() error {
		if out == nil {
			if broken != "" {
				return errors.New(broken)
			}
			tmp, err := o.build(cfg, source)
			if err != nil {
				return err
			}
			defer tmp.Close()
			out = tmp
		}
		t, ok := out.(output.Tester)
		if !ok {
			return fmt.Errorf("output %s cannot send a test event", name)
		}
		tctx, cancel := context.WithTimeout(ctx, OutputTestTimeout)
		defer cancel()
		return t.Test(tctx)
	}()
	res := &OutputTest{OK: err == nil, At: time.Now().UTC()}
	if err != nil {
		res.Error = err.Error()
	}
	o.mu.Lock()
	if o.entries[name] == e {
		e.test = res
	}
	o.mu.Unlock()
	o.log.Info("output tested", "output", name, "ok", res.OK, "err", res.Error)
	return res, nil
}

// ---- secrets at rest

// sealedPrefix marks a stored secret sealed with the outputs key.
const sealedPrefix = "enc:v1:"

// seal is cfg's stored JSON, the webhook secret sealed.
func (o *Outputs) seal(cfg output.Config) (json.RawMessage, error) {
	if cfg.Secret != "" {
		aead, err := o.aead(true)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize())
		_, _ = rand.Read(nonce)
		sealed := aead.Seal(nonce, nonce, []byte(cfg.Secret), secretAD(cfg.Name))
		cfg.Secret = sealedPrefix + base64.RawURLEncoding.EncodeToString(sealed)
	}
	return json.Marshal(cfg)
}

// openConfig reads a stored config and opens its secret. On error the
// config still carries the name and kind, without the secret.
func (o *Outputs) openConfig(r *store.OutputRow) (output.Config, error) {
	var cfg output.Config
	err := json.Unmarshal(r.Config, &cfg)
	cfg.Name = r.Name
	if cfg.Kind == "" {
		cfg.Kind = r.Kind
	}
	if err != nil {
		return cfg, fmt.Errorf("stored config of output %s: %w", r.Name, err)
	}
	if cfg.Secret == "" {
		return cfg, nil
	}
	sealed := cfg.Secret
	cfg.Secret = ""
	b64, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return cfg, fmt.Errorf("the stored secret of output %s is not sealed; set it again with PUT /api/v1/outputs/%s", r.Name, r.Name)
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return cfg, fmt.Errorf("the stored secret of output %s: %w", r.Name, err)
	}
	aead, err := o.aead(false)
	if err != nil {
		return cfg, err
	}
	if len(raw) < aead.NonceSize() {
		return cfg, fmt.Errorf("the stored secret of output %s is truncated", r.Name)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], secretAD(r.Name))
	if err != nil {
		return cfg, fmt.Errorf("decrypt the secret of output %s (is %s the key it was stored with? otherwise set the secret again with PUT): %w",
			r.Name, filepath.Join(o.dataDir, outputKeyFile), err)
	}
	cfg.Secret = string(plain)
	return cfg, nil
}

// secretAD binds a sealed secret to its output, so a secret copied into
// another row does not open.
func secretAD(name string) []byte { return []byte("decnet output secret\x00" + name) }

// aead returns the cipher of the outputs key, reading the key file, or
// creating it when create is set and it does not exist.
func (o *Outputs) aead(create bool) (cipher.AEAD, error) {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	if o.key == nil {
		path := filepath.Join(o.dataDir, outputKeyFile)
		key, err := readOutputKey(path)
		if errors.Is(err, fs.ErrNotExist) && create {
			key = make([]byte, 32)
			_, _ = rand.Read(key)
			if err = pki.WriteNewFile(path, key, 0o600); err == nil {
				o.log.Info("created the key of the stored output secrets", "path", path)
			} else if errors.Is(err, fs.ErrExist) {
				key, err = readOutputKey(path) // made meanwhile by another process
			}
		}
		if err != nil {
			return nil, fmt.Errorf("outputs secret key: %w", err)
		}
		o.key = key
	}
	block, err := aes.NewCipher(o.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// readOutputKey reads the 32-byte key, refusing a file others may read.
func readOutputKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s is open to other users (mode %04o); chmod 600 it", path, perm)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%s holds %d bytes, want 32", path, len(key))
	}
	return key, nil
}
