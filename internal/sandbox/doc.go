// Package sandbox is an emulator of Forter's test site: the Order (v2, v3),
// Order Status, Accounts, Claims and credentials-test endpoints, answering with the
// documented shapes and the documented test decisions (by e-mail in
// accountOwner.email, by IP on the accounts endpoints), a reproducible
// pseudo-random decision for every other order, the test site's rate limit,
// and faults injected on demand (latency, 500/503, hangs, connection resets).
//
// It is the upstream of the proxy's tests, of the benchmark and of a fresh
// `make run`; `orderguard sandbox` serves it on its own. Start runs one on
// 127.0.0.1 with a random port for other packages' tests, and can stop and
// restart it on the same address.
//
// It must never log or echo a request body, an Authorization value or a
// submitted value other than the order id, and never keep more than a bounded
// record of what it received. It is a test double of a remote service: it
// holds no state that matters beyond the process.
package sandbox
