package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PeerComparison is orderguard against one peer (another validating proxy)
// measured in the same run. Every ratio is orderguard's figure over the peer's:
// above 1 for throughput, below 1 for latency, CPU and memory mean orderguard
// does better. A ratio is 0 when either side has no figure.
type PeerComparison struct {
	Peer string `json:"peer"`
	// Skipped is the peer's reason for not being measured; nothing else is set.
	Skipped string     `json:"skipped,omitempty"`
	Rates   []PeerRate `json:"rates,omitempty"`
	// CPU µs per request sent, over every run of each.
	OrderguardCPUPerRequest float64 `json:"orderguard_cpu_us_per_request,omitempty"`
	PeerCPUPerRequest       float64 `json:"peer_cpu_us_per_request,omitempty"`
	CPURatio                float64 `json:"cpu_ratio,omitempty"`
	OrderguardPeakRSS       int64   `json:"orderguard_peak_rss_bytes,omitempty"`
	PeerPeakRSS             int64   `json:"peer_peak_rss_bytes,omitempty"`
	RSSRatio                float64 `json:"peak_rss_ratio,omitempty"`
}

// PeerRate is orderguard and a peer at one rate.
type PeerRate struct {
	Rate               float64 `json:"rate"`
	OrderguardAchieved float64 `json:"orderguard_achieved_rps"`
	PeerAchieved       float64 `json:"peer_achieved_rps"`
	// ThroughputRatio is orderguard's achieved rate over the peer's, for max runs.
	ThroughputRatio float64 `json:"throughput_ratio,omitempty"`
	// PeerKept says the peer kept an open-loop rate: no failed request and at
	// least KeptFraction of the rate answered. A peer that did not keep it is
	// still compared: its latency then includes its queue.
	PeerKept      bool             `json:"peer_kept_rate"`
	OrderguardP99 time.Duration    `json:"orderguard_p99_ns"`
	PeerP99       time.Duration    `json:"peer_p99_ns"`
	P99Ratio      float64          `json:"p99_ratio"`
	PeerStatus    map[string]int64 `json:"peer_status,omitempty"`
	PeerErrors    map[string]int64 `json:"peer_errors,omitempty"`
}

// KeptFraction of an open-loop rate must be answered for a target to have kept it.
const KeptFraction = 0.95

// Kept reports whether an open-loop run kept its rate (see PeerRate.PeerKept).
func (r *Run) Kept() bool {
	if r.Closed || r.Rate == 0 {
		return true
	}
	var failed int64
	for _, n := range r.Errors {
		failed += n
	}
	return failed == 0 && r.Achieved >= KeptFraction*r.Rate
}

// derivePeers compares orderguard (FigureTarget) with every peer target.
func derivePeers(r *Report, find func(target string, rate float64) *Run) {
	r.Peers = nil
	var og *Target
	for i := range r.Targets {
		if r.Targets[i].Name == FigureTarget {
			og = &r.Targets[i]
		}
	}
	for _, t := range r.Targets {
		if !t.Peer {
			continue
		}
		c := PeerComparison{Peer: t.Name, Skipped: t.Skipped}
		if t.Skipped != "" || og == nil {
			r.Peers = append(r.Peers, c)
			continue
		}
		for _, pr := range r.Runs {
			if pr.Target != t.Name {
				continue
			}
			o := find(FigureTarget, pr.Rate)
			if o == nil {
				continue
			}
			rc := PeerRate{
				Rate: pr.Rate, OrderguardAchieved: o.Achieved, PeerAchieved: pr.Achieved, PeerKept: pr.Kept(),
				OrderguardP99: o.Latency.P99, PeerP99: pr.Latency.P99, P99Ratio: over(float64(o.Latency.P99), float64(pr.Latency.P99)),
				PeerStatus: pr.Status, PeerErrors: pr.Errors,
			}
			if pr.Rate == 0 {
				rc.ThroughputRatio = over(o.Achieved, pr.Achieved)
			}
			c.Rates = append(c.Rates, rc)
		}
		c.OrderguardCPUPerRequest, c.PeerCPUPerRequest = cpuPerRequest(r, og.Name), cpuPerRequest(r, t.Name)
		c.CPURatio = over(c.OrderguardCPUPerRequest, c.PeerCPUPerRequest)
		c.OrderguardPeakRSS, c.PeerPeakRSS = og.PeakRSS, t.PeakRSS
		c.RSSRatio = over(float64(og.PeakRSS), float64(t.PeakRSS))
		r.Peers = append(r.Peers, c)
	}
}

// cpuPerRequest is a target's CPU µs per request sent, over all its runs.
func cpuPerRequest(r *Report, target string) float64 {
	var cpu float64
	var sent int64
	for _, run := range r.Runs {
		if run.Target == target {
			cpu, sent = cpu+run.CPU.Target, sent+run.Sent
		}
	}
	if sent == 0 || cpu <= 0 {
		return 0
	}
	return round3(cpu / float64(sent) * 1e6)
}

// over is a/b to three significant digits (a peer failing a rate can be a
// thousand times slower), 0 when either is not positive.
func over(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(a/b, 'g', 3, 64), 64)
	return v
}

// Summary is the comparison in one sentence: orderguard's throughput and p99
// ratios against the peer, with the figures they come from.
func (c PeerComparison) Summary() string {
	if c.Skipped != "" {
		return fmt.Sprintf("%s: not measured: %s", c.Peer, c.Skipped)
	}
	var parts []string
	for _, pr := range c.Rates {
		if pr.Rate == 0 {
			parts = append(parts, fmt.Sprintf("max throughput %s× %s's (%.0f vs %.0f req/s)", times(pr.ThroughputRatio), c.Peer, pr.OrderguardAchieved, pr.PeerAchieved))
		}
	}
	for _, pr := range c.Rates {
		if pr.Rate == 0 {
			continue
		}
		p := fmt.Sprintf("p99 at %s req/s %s× %s's (%s vs %s ms", RateLabel(pr.Rate), times(pr.P99Ratio), c.Peer, ms(pr.OrderguardP99), ms(pr.PeerP99))
		if !pr.PeerKept {
			p += fmt.Sprintf("; %s did not keep the rate: answered %.0f of %s req/s", c.Peer, pr.PeerAchieved, RateLabel(pr.Rate))
			if len(pr.PeerErrors) > 0 {
				p += ", errors " + counts(pr.PeerErrors)
			}
		}
		parts = append(parts, p+")")
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s: no run to compare with orderguard's", c.Peer)
	}
	return fmt.Sprintf("orderguard vs %s: %s", c.Peer, strings.Join(parts, "; "))
}

// times prints a ratio (three significant digits); "?" for none.
func times(f float64) string {
	if f == 0 {
		return "?"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
