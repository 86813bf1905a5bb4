package snmp_test

import (
	"testing"

	"github.com/decnet/decnet/internal/service/servicetest"
)

// start runs the snmp service on a monitoring node unless told otherwise.
func start(t testing.TB, o servicetest.Options) *servicetest.Running {
	t.Helper()
	if o.Archetype == "" {
		o.Archetype = "monitoring-node"
	}
	return servicetest.Start(t, "snmp", 161, o)
}
