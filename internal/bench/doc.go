// Package bench holds side-by-side benchmarks of decky services against
// the real servers they imitate, run on the same machine in the same run:
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/bench
//
// Each benchmark prints both figures and their ratio; docs/benchmarks.md
// records the results. They need the real servers installed (OpenSSH's
// sshd, nginx) and root.
package bench
