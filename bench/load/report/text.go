package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orderguard/orderguard/bench/load"
)

// WriteText writes the tables people read: latency per target and rate, latency
// added over direct with its ratio to the baseline's, max throughput, CPU and
// memory, connection reuse, and the figures.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	m := r.Machine
	if r.Revision != "" {
		fmt.Fprintf(ew, "orderguard: %s\n", r.Revision)
	}
	fmt.Fprintf(ew, "orderguard latency benchmark, %s\n", r.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(ew, "machine:    %d CPUs (%s), %s %s/%s\n", m.CPUs, m.CPUModel, m.GoVersion, m.OS, m.Arch)
	if m.LoadAverage != "" {
		fmt.Fprintf(ew, "load avg:   %s (1-minute, at start and end; the end figure includes the suite's own three busy processes)\n", m.LoadAverage)
	}
	if m.CPUSharing != "" {
		fmt.Fprintf(ew, "cpu:        %s\n", m.CPUSharing)
	}
	s := r.Settings
	fmt.Fprintf(ew, "payloads:   %s: %s\n", s.Payloads, s.Mix)
	fmt.Fprintf(ew, "runs:       rates %s req/s; %s measured per target and rate in %d slice(s), each after %s warmup; %d connections\n",
		strings.Join(s.Rates, ","), s.Duration, max(s.Rounds, 1), s.Warmup, s.Connections)
	fmt.Fprintln(ew, "latency:    from each request's scheduled send time (open loop); \"max\" runs are closed loops, from the actual send;")
	fmt.Fprintln(ew, "            gen lag: how late the idle generator woke to send (its own noise, inside every latency)")
	if p := pacers(r); p != "" {
		fmt.Fprintf(ew, "pacing:     %s\n", p)
	}
	if s.RateCap > 0 {
		fmt.Fprintf(ew, "rate cap:   %s req/s for remote targets\n", RateLabel(s.RateCap))
	}
	for _, t := range r.Targets {
		how := t.Command
		if how == "" {
			how = "supplied by the user"
		}
		if t.Skipped != "" {
			fmt.Fprintf(ew, "target:     %-18s SKIPPED: %s\n", t.Name, t.Skipped)
		} else {
			fmt.Fprintf(ew, "target:     %-18s %s  (%s)\n", t.Name, t.URL, how)
		}
		if t.Note != "" {
			fmt.Fprintf(ew, "            %-18s %s\n", "", t.Note)
		}
	}

	fmt.Fprintln(ew, "\nLATENCY (ms)")
	tw := newTab(ew)
	fmt.Fprintln(tw, "target\trate\tachieved/s\tp50\tp90\tp99\tp99.9\tmax\tgen lag p99\tstatus\terrors")
	for _, run := range r.Runs {
		l := run.Latency
		lag := "-"
		if !run.Closed {
			lag = ms(run.TimerLagP99)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", run.Target, RateLabel(run.Rate), run.Achieved,
			ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), lag, counts(run.Status), counts(run.Errors))
	}
	tw.Flush()

	if hasAdded(r) {
		fmt.Fprintln(ew, "\nADDED OVER direct (ms: target minus direct at the same rate and percentile, from all requests;")
		fmt.Fprintln(ew, "ratio: p99 added / baseline's p99 added; \"median\" columns: the same from the median of the slices' percentiles)")
		tw = newTab(ew)
		fmt.Fprintln(tw, "target\trate\t+p50\t+p90\t+p99\t+p99.9\tp99 ratio\t+p99 median\tp99 ratio median")
		for _, run := range r.Runs {
			if run.Added == nil {
				continue
			}
			a := run.Added
			medP99 := "-"
			if run.AddedMedian != nil {
				medP99 = ms(run.AddedMedian.P99)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", run.Target, RateLabel(run.Rate), ms(a.P50), ms(a.P90), ms(a.P99), ms(a.P999),
				ratioText(run.BaselineP99), medP99, ratioText(run.BaselineP99Median))
		}
		tw.Flush()
	}

	if hasMax(r) {
		fmt.Fprintln(ew, "\nTHROUGHPUT (rate max: closed loop)")
		tw = newTab(ew)
		fmt.Fprintln(tw, "target\treq/s\tratio to baseline\treq/s median slice\tratio median")
		for _, run := range r.Runs {
			if run.Rate != 0 {
				continue
			}
			med := "-"
			if run.AchievedMedian > 0 {
				med = strconv.FormatFloat(run.AchievedMedian, 'f', 0, 64)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\n", run.Target, run.Achieved, ratioText(run.ThroughputRatio), med, ratioText(run.ThroughputRatioMedian))
		}
		tw.Flush()
	}

	fmt.Fprintln(ew, "\nCPU AND MEMORY (CPU seconds spent during each run, warmup included, by the target's process, the sandbox and the")
	fmt.Fprintln(ew, "load generator; target µs/req = target CPU over every request sent)")
	tw = newTab(ew)
	fmt.Fprintln(tw, "target\trate\trequests\ttarget cpu s\ttarget µs/req\tsandbox cpu s\tgenerator cpu s")
	for _, run := range r.Runs {
		perReq := "-"
		if run.Sent > 0 && run.CPU.Target > 0 {
			perReq = strconv.FormatFloat(run.CPU.Target/float64(run.Sent)*1e6, 'f', 0, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%s\t%.2f\t%.2f\n", run.Target, RateLabel(run.Rate), run.Sent, run.CPU.Target, perReq, run.CPU.Sandbox, run.CPU.Generator)
	}
	tw.Flush()
	fmt.Fprintln(ew)
	tw = newTab(ew)
	fmt.Fprintln(tw, "process\tcpu s (whole suite)\tpeak RSS MiB")
	for _, t := range r.Targets {
		if t.Command == "" || t.Skipped != "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\n", t.Name, t.CPUSeconds, float64(t.PeakRSS)/(1<<20))
	}
	tw.Flush()

	fmt.Fprintln(ew, "\nCONNECTIONS (new connections, TLS handshakes, resumed TLS sessions; warmup included)")
	tw = newTab(ew)
	fmt.Fprintln(tw, "target\trate\tnew conns\ttls handshakes\tresumed")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", run.Target, RateLabel(run.Rate), run.Conn.Dials, run.Conn.Handshakes, run.Conn.Resumed)
	}
	tw.Flush()

	writeValidation(ew, r)
	writePeers(ew, r)

	if len(r.Figures) > 0 {
		fmt.Fprintln(ew, "\nFIGURES (reached only when the all-request figure and the slice median both reach it)")
		for _, f := range r.Figures {
			fmt.Fprintf(ew, "%s (want %s): %s\n  %s\n", f.Name, f.Target, strings.ToUpper(f.Verdict), f.Detail)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(ew, "\nNOTES")
		for _, n := range r.Notes {
			fmt.Fprintf(ew, "- %s\n", n)
		}
	}
	if len(r.Peers) > 0 {
		fmt.Fprintln(ew, "\nVERSUS THE PEERS (orderguard's figure over the peer's, measured in this run)")
		for _, c := range r.Peers {
			fmt.Fprintf(ew, "- %s\n", c.Summary())
		}
	}
	return ew.err
}

// writePeers writes the table comparing orderguard with each peer, rate by rate.
func writePeers(w io.Writer, r *Report) {
	if len(r.Peers) == 0 {
		return
	}
	fmt.Fprintln(w, "\nPEERS (ratio: orderguard's figure over the peer's in this run; kept: the peer answered at least",
		strconv.FormatFloat(KeptFraction*100, 'f', -1, 64)+"% of the rate with no failed request)")
	tw := newTab(w)
	fmt.Fprintln(tw, "peer\trate\tachieved/s\torderguard/s\tthroughput ratio\tkept\tp99 ms\torderguard p99\tp99 ratio\tstatus\terrors")
	for _, c := range r.Peers {
		if c.Skipped != "" {
			fmt.Fprintf(tw, "%s\tSKIPPED: %s\n", c.Peer, c.Skipped)
			continue
		}
		for _, pr := range c.Rates {
			kept := "yes"
			if pr.Rate == 0 {
				kept = "-"
			} else if !pr.PeerKept {
				kept = "NO"
			}
			tput := "-"
			if pr.Rate == 0 {
				tput = times(pr.ThroughputRatio)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Peer, RateLabel(pr.Rate), pr.PeerAchieved, pr.OrderguardAchieved,
				tput, kept, ms(pr.PeerP99), ms(pr.OrderguardP99), times(pr.P99Ratio), counts(pr.PeerStatus), counts(pr.PeerErrors))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = newTab(w)
	fmt.Fprintln(tw, "peer\tcpu µs/req\torderguard µs/req\tcpu ratio\tpeak RSS MiB\torderguard MiB\tRSS ratio")
	for _, c := range r.Peers {
		if c.Skipped != "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%.1f\t%.1f\t%s\n", c.Peer, c.PeerCPUPerRequest, c.OrderguardCPUPerRequest, times(c.CPURatio),
			float64(c.PeerPeakRSS)/(1<<20), float64(c.OrderguardPeakRSS)/(1<<20), times(c.RSSRatio))
	}
	tw.Flush()
}

// ratioText prints a ratio to the baseline; "-" when there is none (the baseline
// added no measurable latency, or there is no baseline).
func ratioText(f float64) string {
	if f == 0 {
		return "-"
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0) }

func hasAdded(r *Report) bool {
	for _, run := range r.Runs {
		if run.Added != nil {
			return true
		}
	}
	return false
}

func hasMax(r *Report) bool {
	for _, run := range r.Runs {
		if run.Rate == 0 {
			return true
		}
	}
	return false
}

// counts prints a count map as "200:9000 400:1000", keys sorted; "-" when empty.
func counts(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// errWriter keeps the first write error so the writers can print freely and
// report it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = fmt.Errorf("write text report: %w", err)
	}
	return n, err
}

// pacers describes the clocks that paced the open-loop runs.
func pacers(r *Report) string {
	var names []string
	for _, run := range r.Runs {
		if run.Pacer != "" && !slices.Contains(names, run.Pacer) {
			names = append(names, run.Pacer)
		}
	}
	var out []string
	for _, n := range names {
		switch n {
		case load.PacerTimerfd:
			out = append(out, n+" (each request released at its due time)")
		case load.PacerGoTimer:
			out = append(out, n+" (requests released on the Go poller's millisecond, in bursts: latencies include up to 1 ms of the generator's own)")
		default:
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}
