package docker

// Specs are validated against the service registry, which the binary fills
// by linking every service; the tests link them the same way.
import _ "github.com/decnet/decnet/internal/service/all"
