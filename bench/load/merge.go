package load

// Merge combines results of the same target and rate measured in several slices
// (the suite interleaves targets so that background noise falls on all of them
// alike). Counts and histograms add up; Achieved is total responses over total
// elapsed time; Duration is the sum of the slices' measured time.
func Merge(results ...*Result) *Result {
	if len(results) == 0 {
		return nil
	}
	first := results[0]
	out := &Result{
		Target: first.Target, Rate: first.Rate, Closed: first.Closed, Pacer: first.Pacer, Connections: first.Connections,
		Latency: NewHistogram(), TimerLag: NewHistogram(), Status: map[int]int64{}, Errors: map[string]int64{},
	}
	for _, r := range results {
		out.Duration += r.Duration
		out.Elapsed += r.Elapsed
		out.Scheduled += r.Scheduled
		out.Sent += r.Sent
		out.Responses += r.Responses
		out.Latency.Merge(r.Latency)
		if r.TimerLag != nil {
			out.TimerLag.Merge(r.TimerLag)
		}
		for k, v := range r.Status {
			out.Status[k] += v
		}
		for k, v := range r.Errors {
			out.Errors[k] += v
		}
		out.Conn.Dials += r.Conn.Dials
		out.Conn.Handshakes += r.Conn.Handshakes
		out.Conn.Resumed += r.Conn.Resumed
	}
	if out.Elapsed > 0 {
		out.Achieved = float64(out.Responses) / out.Elapsed.Seconds()
	}
	return out
}
