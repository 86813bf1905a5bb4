// Package dockerapi emulates the Docker Engine API on plain TCP 2375.
//
// # What it emulates
//
// A Docker CE engine exposed without TLS (the cryptojacking target), on
// Go net/http framing (httpapi.Go: sorted headers, Date, Content-Length
// or chunked, the router's 404 without middleware headers). Paths are
// served bare and under /v1.xx (too new or too old versions refused with
// the engine's texts). Implemented: OPTIONS (200, nmap's probe),
// /_ping (GET/HEAD), /version, /info, /images/json, /images/{ref}/json,
// /images/create (pull: the progress stream, then the image is listed),
// /containers/json (?all), /containers/create, /containers/{id}/json,
// start, attach (hijacked, 101 UPGRADED with the multiplexed or raw
// stream type), wait (streamed; answers when an --rm container is
// removed), exec, stop, kill, restart, logs, DELETE; /exec/{id}/start
// (hijacked), /exec/{id}/json, resize; /events (idle stream), /networks,
// /volumes, /plugins; swarm paths answer "not a swarm manager".
//
// Nothing runs. The story the decoy tells is a host whose runc binary is
// gone: containers started before keep running (four seeded compose
// services: nginx, an API image, postgres, redis), while every new start
// fails with containerd's real error ("failed to create task for
// container: failed to create shim task: OCI runtime create failed:
// unable to retrieve OCI runtime error (open .../log.json: no such file
// or directory): exec: \"runc\": executable file not found in $PATH:
// unknown"), with the engine's status rule (400 and exit 127 when the
// text contains the command, else 500 and 128), and every exec fails with
// the matching "OCI runtime exec failed" on the stream (exit 126). So
// `docker run IMAGE CMD` pulls ("Unable to find image ... locally",
// layers, Digest, "Downloaded newer image"), creates, attaches, and only
// then fails, like a broken host.
//
// # Persona fields used
//
// Persona.Hostname (Name in /info, the compose project image), Distro
// PrettyName, VersionID and Kernel (OperatingSystem, OSVersion,
// KernelVersion; cgroup v1 on 3.x-5.4 kernels), the identity for the
// engine ID (a UUID since 23.0, the libtrust-style key id before), CPUs,
// memory, container and image ids, digests, creation times.
//
// # Config keys
//
//   - version: engine version (default 24.0.5 / API 1.43); 20.10.24,
//     23.0.6, 24.0.5, 24.0.7, 25.0.3 and 26.1.4 carry their real API
//     version, Go version, commit and containerd/runc versions.
//
// # Events emitted
//
//   - docker.request.received for every request (body quarantined).
//   - docker.container.create with the full body quarantined and Image,
//     Cmd, Entrypoint, Env, Binds/bind Mounts, Privileged, PidMode,
//     NetworkMode, CapAdd and escape/escape_reasons (privileged, host
//     namespaces, dangerous capabilities, unconfined profiles, devices,
//     sensitive host paths).
//   - docker.container.start, docker.exec.create, docker.exec.start,
//     docker.image.pull (X-Registry-Auth credentials as the credential),
//     docker.attach.input (stdin sent on hijacked streams).
//   - docker.protocol.error for an unreadable request (net/http's 400).
//
// # Known tells and how we avoid them
//
//   - The original's "ID":"FAKE:FAKE:...", Werkzeug headers and empty
//     images: replaced by seeded values and the engine's own headers (Api-
//     Version, Docker-Experimental, Ostype, Server, Builder-Version and
//     the /_ping cache headers, checked against a real 20.10 engine).
//   - /info carries the engine's warning about the unencrypted TCP socket.
//   - nmap -sV: "docker Docker 24.0.5 (API 1.43)" from the OPTIONS probe.
//   - Not emulated: build, commit, push, image delete, archive (cp),
//     stats, top, container logs content, swarm.
package dockerapi
