package host

// Specs are validated against the service registry; the decky runtime
// links every service, and so do these tests through it.
import _ "github.com/decnet/decnet/internal/service/all"
