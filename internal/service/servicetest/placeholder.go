package servicetest

import (
	"sync"

	"github.com/decnet/decnet/internal/service"
)

// Placeholder is a service registered as described only: what tests of
// the SERVICE_NOT_IMPLEMENTED refusal use once every real service is
// implemented.
const Placeholder = "test_placeholder"

var placeholder sync.Once

// RegisterPlaceholder registers Placeholder, once per test binary.
func RegisterPlaceholder() {
	placeholder.Do(func() {
		service.Register(service.Info{ID: Placeholder, Title: "A service described, not implemented", Ports: service.TCPPorts(6999),
			Settings: func() any { return &struct{}{} }})
	})
}
