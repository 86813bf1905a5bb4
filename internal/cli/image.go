package cli

import (
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/driver/docker"
)

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Container images of decnet itself",
	}
	cmd.AddCommand(newImageBuildCmd())
	return cmd
}

func newImageBuildCmd() *cobra.Command {
	var tag, bin, ca string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the master/agent container image FROM scratch with this binary (no registry needed)",
		Long: `Build a container image holding only this decnet binary (it must be static:
CGO_ENABLED=0), the host's CA roots and an empty /tmp, on the Docker engine
DOCKER_HOST names. The image's entrypoint is decnet; its arguments pick the
role: "master" (data in /var/lib/decnet/master) or "agent" (state in
/var/lib/decnet/agent, the engine's socket mounted for the docker driver).`,
		Example: `  CGO_ENABLED=0 go build -o decnet ./cmd/decnet && ./decnet image build --tag decnet:dev
  docker run -d -p 8443:8443 -v decnet-master:/var/lib/decnet decnet:dev master --api-listen :8443
  docker run -d -v /var/run/docker.sock:/var/run/docker.sock -v decnet-agent:/var/lib/decnet decnet:dev agent --listen :8765`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bin == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				bin = exe
			}
			if !docker.StaticBinary(bin) {
				return fmt.Errorf("%s is not a static binary; build it with CGO_ENABLED=0 go build ./cmd/decnet and pass --binary", bin)
			}
			if ca == "auto" {
				ca = ""
				if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
					ca = "/etc/ssl/certs/ca-certificates.crt"
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if !asJSON {
				fmt.Fprintf(cmd.ErrOrStderr(), "building %s from %s ...\n", tag, bin)
			}
			b := readBuildInfo()
			err := docker.BuildServerImage(ctx, docker.ServerImageOptions{Binary: bin, Tag: tag, CABundle: ca,
				Labels: map[string]string{"org.opencontainers.image.version": b.Version, "org.opencontainers.image.revision": b.Commit}})
			if err != nil {
				return fmt.Errorf("%w (is the Docker engine reachable? see DOCKER_HOST)", err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"image": tag, "binary": bin, "version": b.Version})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "built %s\n", tag)
			return nil
		},
	}
	cmd.Flags().StringVar(&tag, "tag", "decnet:"+versionString(), "name of the image")
	cmd.Flags().StringVar(&bin, "binary", "", "static decnet binary to put in the image (default: this one)")
	cmd.Flags().StringVar(&ca, "ca-bundle", "auto", "PEM CA roots for the image (auto: the host's, when present; \"\" for none)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
