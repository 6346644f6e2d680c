package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"time"
)

// Chart geometry, in SVG user units.
const (
	svgWidth    = 990
	panelHeight = 300
	marginLeft  = 70
	marginRight = 300
	marginTop   = 44
	marginBot   = 46
	maxX        = 4.0 // 99.99th percentile
)

var palette = []string{"#4e79a7", "#59a14f", "#e15759", "#f28e2b", "#76b7b2", "#b07aa1", "#9c755f", "#edc948", "#ff9da7", "#bab0ac"}

var xTicks = []struct {
	x     float64
	label string
}{{0, "0%"}, {1, "90%"}, {2, "99%"}, {3, "99.9%"}, {4, "99.99%"}}

// WriteSVG draws one panel per rate: each target's latency (y, linear, ms) by
// percentile (x, on HdrHistogram's -log10(1-p) scale: 0, 90, 99, 99.9, 99.99%).
func WriteSVG(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	var rates []float64
	seen := map[float64]bool{}
	for _, run := range r.Runs {
		if !seen[run.Rate] {
			seen[run.Rate] = true
			rates = append(rates, run.Rate)
		}
	}
	color := map[string]string{}
	for _, run := range r.Runs {
		if _, ok := color[run.Target]; !ok {
			color[run.Target] = palette[len(color)%len(palette)]
		}
	}
	height := max(len(rates), 1) * panelHeight
	fmt.Fprintf(ew, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(ew, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, height)
	if len(rates) == 0 {
		fmt.Fprintln(ew, `<text x="20" y="30">no runs</text>`)
	}
	for i, rate := range rates {
		panel(ew, r, rate, i*panelHeight, color)
	}
	fmt.Fprintln(ew, "</svg>")
	return ew.err
}

func panel(w io.Writer, r *Report, rate float64, top int, color map[string]string) {
	plotW := float64(svgWidth - marginLeft - marginRight)
	plotH := float64(panelHeight - marginTop - marginBot)
	x0, y0 := float64(marginLeft), float64(top+marginTop)

	var runs []Run
	var maxLat, minLat, minP99 time.Duration
	for _, run := range r.Runs {
		if run.Rate != rate {
			continue
		}
		runs = append(runs, run)
		if run.Latency.P99 > 0 && (minP99 == 0 || run.Latency.P99 < minP99) {
			minP99 = run.Latency.P99
		}
		for _, p := range run.Curve {
			maxLat = max(maxLat, p.Latency)
			if p.Latency > 0 && (minLat == 0 || p.Latency < minLat) {
				minLat = p.Latency
			}
		}
	}
	toMS := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	ax := newAxis(toMS(minLat), toMS(minP99), toMS(maxLat))
	px := func(x float64) float64 { return x0 + x/maxX*plotW }
	py := func(msec float64) float64 { return y0 + plotH - ax.frac(msec)*plotH }

	title := "Latency by percentile at " + RateLabel(rate) + " req/s (open loop, from scheduled send)"
	if rate == 0 {
		title = "Latency by percentile at max rate (closed loop)"
	}
	if ax.log {
		title += ", log scale"
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", marginLeft, top+24, html.EscapeString(title))
	fmt.Fprintf(w, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#888888"/>`+"\n", f1(x0), f1(y0), f1(plotW), f1(plotH))
	for _, t := range xTicks {
		x := px(t.x)
		fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd"/>`+"\n", f1(x), f1(y0), f1(x), f1(y0+plotH))
		fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", f1(x), f1(y0+plotH+16), t.label)
	}
	fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="middle" fill="#444444">percentile</text>`+"\n", f1(x0+plotW/2), f1(y0+plotH+34))
	for _, v := range ax.ticks() {
		y := py(v)
		fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd"/>`+"\n", f1(x0), f1(y), f1(x0+plotW), f1(y))
		fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="end">%s</text>`+"\n", f1(x0-6), f1(y+4), trimNum(v))
	}
	fmt.Fprintf(w, `<text x="16" y="%s" transform="rotate(-90 16 %s)" text-anchor="middle" fill="#444444">latency (ms)</text>`+"\n",
		f1(y0+plotH/2), f1(y0+plotH/2))
	for i, run := range runs {
		if len(run.Curve) > 0 {
			fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" points="`, color[run.Target])
			for j, p := range run.Curve {
				if j > 0 {
					fmt.Fprint(w, " ")
				}
				fmt.Fprintf(w, "%s,%s", f1(px(min(p.X, maxX))), f1(py(toMS(p.Latency))))
			}
			fmt.Fprintln(w, `"/>`)
		}
		ly := y0 + 10 + float64(i)*20
		lx := x0 + plotW + 16
		fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="3"/>`+"\n", f1(lx), f1(ly), f1(lx+20), f1(ly), color[run.Target])
		fmt.Fprintf(w, `<text x="%s" y="%s">%s (p99 %s ms)</text>`+"\n", f1(lx+26), f1(ly+4), html.EscapeString(run.Target), ms(run.Latency.P99))
	}
}

// logSpread is the ratio of a panel's highest latency to its lowest p99 above
// which its y axis is logarithmic: a peer that cannot keep the rate answers in
// seconds, which on a linear axis would flatten every other curve to the floor.
const logSpread = 100

// axis maps latencies (ms) to [0, 1] of a panel's height: linear from 0, or
// logarithmic by decades.
type axis struct {
	log          bool
	lo, hi, step float64 // linear: 0 to hi by step; log: the decades lo to hi
}

func newAxis(minMS, minP99MS, maxMS float64) axis {
	if minMS > 0 && minP99MS > 0 && maxMS/minP99MS > logSpread {
		return axis{log: true, lo: math.Pow(10, math.Floor(math.Log10(minMS))), hi: math.Pow(10, math.Ceil(math.Log10(maxMS)))}
	}
	hi, step := niceScale(maxMS)
	return axis{hi: hi, step: step}
}

func (a axis) frac(v float64) float64 {
	if !a.log {
		return v / a.hi
	}
	v = max(v, a.lo)
	return math.Log10(v/a.lo) / math.Log10(a.hi/a.lo)
}

func (a axis) ticks() []float64 {
	var out []float64
	if a.log {
		for v := a.lo; v <= a.hi*1.001; v *= 10 {
			out = append(out, v)
		}
		return out
	}
	for v := 0.0; v <= a.hi+a.step/2; v += a.step {
		out = append(out, v)
	}
	return out
}

// niceScale returns an axis maximum at or above v and a tick step of 1, 2 or 5
// times a power of ten, giving 4 to 10 ticks.
func niceScale(v float64) (top, step float64) {
	if v <= 0 || math.IsNaN(v) {
		return 1, 0.2
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		step = mag
	case f <= 2:
		step = 2 * mag
	case f <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	return math.Ceil(v/step) * step, step
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func trimNum(v float64) string { return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64) }
