package agent

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/decnet/decnet/internal/wire"
)

// ErrWiped is what Run returns after its master wiped it: the deckies are
// gone, and so is the agent's state; the process should exit.
var ErrWiped = errors.New("agent: wiped by its master; its certificates, cache, spools and builds are erased")

// Wipe tears down everything the agent runs, as a teardown does, and on
// success asks Run to stop and erase the agent's directory: the master
// decommissions the host next, and nothing of the enrollment stays.
func (a *Agent) Wipe(req *wire.TeardownRequest) (wire.OpResult, error) {
	res, err := a.Teardown(req)
	if err == nil && res.OK {
		a.log.Warn("wipe: everything torn down; erasing the agent's state and stopping")
		a.wipeOnce.Do(func() { close(a.wiped) })
	}
	return res, err
}

// erase removes the contents of the agent directory (the directory itself
// may be a service's state directory). The store must be closed.
func (a *Agent) erase() error {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(a.dir, e.Name())))
	}
	return errors.Join(errs...)
}
