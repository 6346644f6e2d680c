// Package load is an open-loop HTTP load generator for the latency benchmark.
//
// Requests are scheduled by the clock at a fixed rate and each latency is measured
// from the request's scheduled send time, not from when a connection happened to be
// free to send it. A slow target therefore shows up as high latency, never as a
// lower request rate: the generator does not wait for the target before sending the
// next request (it avoids coordinated omission). Rate 0 ("max") is the exception: a
// closed loop that sends as fast as the connections allow, to find throughput.
//
// The clock is a timerfd read through Go's network poller, so each request leaves
// at its due time. (A Go timer would wake on the poller's millisecond: at 5,000
// req/s, five requests would leave together and the last would wait behind the
// other four at the target, which measures the generator rather than the target.)
// Off Linux the generator falls back to Go timers and says so in Result.Pacer.
//
// Percentiles come from an HdrHistogram. The generator speaks HTTP/1.1 over a fixed
// pool of fasthttp client connections and counts dials, TLS handshakes and resumed
// TLS sessions, so connection reuse can be reported next to latency.
//
// It must never be pointed at a host it was not asked to load, never log request
// bodies or credentials, and every run is bounded in time.
package load
