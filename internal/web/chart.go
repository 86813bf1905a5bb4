package web

import (
	"context"
	"fmt"
	"time"

	"github.com/decnet/decnet/internal/store"
)

// Chart is a bar chart drawn as SVG by the template: one bar per time
// bucket, counted by the store over the whole range.
type Chart struct {
	Label         string // accessible description
	Width, Height float64
	Bars          []Bar
	Max, Total    int64
	From, To      time.Time
	Axis          []Tick
}

// Bar is one bucket of a Chart, in SVG user units.
type Bar struct {
	X, Y, W, H float64
	From, To   time.Time
	Count      int64
	Href       string // the events page narrowed to the bucket, or ""
}

// Tick is a label under the chart.
type Tick struct {
	X      float64
	Text   string
	Anchor string // SVG text-anchor, so that the end labels stay inside
}

const (
	chartW, chartH = 720.0, 160.0
	chartTop       = 8.0
	chartBottom    = 20.0 // room for the axis labels
	maxBuckets     = 96
)

// histogram counts the events matching f in n equal buckets from since to
// until, with one CountEvents each, so it covers the whole range whatever
// the number of events. href, when not nil, links each bar.
func histogram(ctx context.Context, st store.Store, f store.EventFilter, since, until time.Time, n int,
	href func(from, to time.Time) string) (*Chart, error) {
	n = max(1, min(n, maxBuckets))
	step := until.Sub(since) / time.Duration(n)
	if step <= 0 {
		return nil, fmt.Errorf("%w: empty time range", errBadRequest)
	}
	c := &Chart{Width: chartW, Height: chartH, From: since, To: until}
	counts := make([]int64, n)
	for i := range n {
		f.Since, f.Until = since.Add(time.Duration(i)*step), since.Add(time.Duration(i+1)*step)
		if i == n-1 {
			f.Until = until
		}
		k, err := st.CountEvents(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("histogram: %w", err)
		}
		counts[i] = k
		c.Total += k
		c.Max = max(c.Max, k)
	}
	plot := chartH - chartTop - chartBottom
	bw := chartW / float64(n)
	for i, k := range counts {
		b := Bar{X: float64(i) * bw, W: max(bw-1, 1), Count: k, From: since.Add(time.Duration(i) * step)}
		b.To = b.From.Add(step)
		if c.Max > 0 {
			b.H = plot * float64(k) / float64(c.Max)
		}
		if k > 0 && b.H < 1 {
			b.H = 1
		}
		b.Y = chartTop + plot - b.H
		if href != nil && k > 0 {
			b.Href = href(b.From, b.To)
		}
		c.Bars = append(c.Bars, b)
	}
	layout := "15:04"
	if until.Sub(since) > 48*time.Hour {
		layout = "Jan 2"
	}
	c.Axis = []Tick{
		{X: 0, Text: since.UTC().Format(layout), Anchor: "start"},
		{X: chartW / 2, Text: since.Add(until.Sub(since) / 2).UTC().Format(layout), Anchor: "middle"},
		{X: chartW, Text: until.UTC().Format(layout), Anchor: "end"},
	}
	if n == 1 {
		c.Axis = c.Axis[:1]
	}
	return c, nil
}
