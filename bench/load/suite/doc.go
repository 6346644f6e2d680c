// Package suite runs the latency benchmark end to end: it builds or finds the
// orderguard binary, starts the sandbox, the bare baseline proxy, orderguard
// (enforce and report) and, with --peers, the other validating proxies a team
// could run instead (kin-openapi, Prism: targets.go) as separate processes on
// loopback, loads each with the same payloads at each rate, reads each
// process's CPU time and peak RSS from /proc, and writes the reports. `go run ./bench` and `orderguard bench` are thin
// wrappers around Main.
//
// It also holds the baseline: a bare fasthttp reverse proxy with no validation,
// served by `orderguard bench --serve-baseline` in its own process.
//
// Every process it starts is stopped when the suite ends, on error too. It loads
// only the targets it started on 127.0.0.1 and URLs the user names, and caps the
// rate to a remote target (Forter's test site allows 10 requests a second).
package suite
