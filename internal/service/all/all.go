// Package all links every protocol implementation into the binary: import
// it for its side effect of registering them with the service registry.
package all

import (
	_ "github.com/decnet/decnet/internal/service/http" // http, https
)
