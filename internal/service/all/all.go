// Package all links every protocol implementation into the binary: import
// it for its side effect of registering them with the service registry.
package all

import (
	_ "github.com/decnet/decnet/internal/service/ftp"
	_ "github.com/decnet/decnet/internal/service/http" // http, https
	_ "github.com/decnet/decnet/internal/service/mysql"
	_ "github.com/decnet/decnet/internal/service/redis"
	_ "github.com/decnet/decnet/internal/service/ssh"
	_ "github.com/decnet/decnet/internal/service/telnet"
)
