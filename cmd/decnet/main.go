// Command decnet is the single binary of DECNET: master, agent, decky
// runtime and operator CLI.
package main

import (
	"os"

	"github.com/decnet/decnet/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
