// Package report holds the latency benchmark's results and writes them three ways:
// a text table for people, JSON for machines and an SVG chart of each target's
// latency percentile distribution (log-scaled percentiles, as HdrHistogram plots do).
//
// Writers only format what they are given; derived figures (latency added over
// direct, ratios to the baseline) are computed once, by Derive. The package must
// never run load or start processes, and the SVG is hand-written: no dependency.
package report
