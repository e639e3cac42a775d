package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// Charts are inline SVG drawn here, on the server: no script, no
// library. Each carries a <title> that says in words what it shows, and
// the page offers the same figures as a table.

const chartWidth = 640

// countryChart draws confirmed and pending endorsements per country as
// horizontal stacked bars, the 20 countries with the most first.
func countryChart(counts []service.CountryTally) template.HTML {
	if len(counts) == 0 {
		return ""
	}
	rows := counts
	if len(rows) > 20 {
		rows = rows[:20]
	}
	maxN := 1
	for _, c := range rows {
		maxN = max(maxN, c.Confirmed+c.Pending)
	}
	const rowH, labelW, barW = 24, 150, chartWidth - 150 - 50
	h := rowH*len(rows) + 8
	var b, summary strings.Builder
	for i, c := range rows {
		label := c.Country
		if label == "" {
			label = "no country"
		} else if name := outreach.CountryName(label); name != "" {
			label += " " + name
		}
		if r := []rune(label); len(r) > 22 {
			label = string(r[:21]) + "…"
		}
		y := 4 + i*rowH
		wc := c.Confirmed * barW / maxN
		wp := c.Pending * barW / maxN
		fmt.Fprintf(&summary, "%s: %d confirmed, %d pending. ", label, c.Confirmed, c.Pending)
		fmt.Fprintf(&b, `<g><title>%s: %d confirmed, %d pending</title>`, esc(label), c.Confirmed, c.Pending)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, y+rowH/2+4, esc(label))
		fmt.Fprintf(&b, `<rect class="confirmed" x="%d" y="%d" width="%d" height="%d"/>`, labelW, y+3, wc, rowH-6)
		fmt.Fprintf(&b, `<rect class="pending" x="%d" y="%d" width="%d" height="%d"/>`, labelW+wc, y+3, wp, rowH-6)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%d</text></g>`, labelW+wc+wp+6, y+rowH/2+4, c.Confirmed+c.Pending)
	}
	return template.HTML(fmt.Sprintf(`<svg class="chart" id="chart-countries" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-countries-title"><title id="chart-countries-title">Endorsements per country. %s</title>%s</svg>`,
		chartWidth, h, esc(summary.String()), b.String()))
}

// dayChart draws new endorsements per day as bars and their running total
// as a line, over the last 180 days that have any.
func dayChart(days []service.DayCount) template.HTML {
	if len(days) == 0 {
		return ""
	}
	// A dense series: one point per calendar day, missing days at 0.
	first, last := days[0].Day, days[len(days)-1].Day
	if n := int(last.Sub(first).Hours()/24) + 1; n > 180 {
		first = last.AddDate(0, 0, -179)
	}
	type point struct {
		day        time.Time
		new, total int
	}
	var pts []point
	total := 0
	j := 0
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		n := 0
		for j < len(days) && !days[j].Day.After(d) {
			if days[j].Day.Equal(d) {
				n = days[j].New
			}
			total = days[j].Total
			j++
		}
		pts = append(pts, point{d, n, total})
	}
	const h, left, right, top, bottom = 220, 40, 12, 12, 28
	plotW, plotH := chartWidth-left-right, h-top-bottom
	maxN := 1
	for _, p := range pts {
		maxN = max(maxN, p.total)
	}
	step := float64(plotW) / float64(len(pts))
	y := func(v int) float64 { return float64(top) + float64(plotH)*(1-float64(v)/float64(maxN)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, top+plotH, left+plotW, top+plotH)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, top, left, top+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%d</text><text x="%d" y="%d" text-anchor="end">0</text>`, left-6, top+10, maxN, left-6, top+plotH)
	var line strings.Builder
	for i, p := range pts {
		x := float64(left) + step*float64(i)
		if p.new > 0 {
			bw := min(max(step*0.8, 1), 24)
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d new</title></rect>`,
				x+(step-bw)/2, y(p.new), bw, float64(top+plotH)-y(p.new), p.day.Format("2006-01-02"), p.new)
		}
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&line, "%s%.1f %.1f ", cmd, x+step/2, y(p.total))
	}
	fmt.Fprintf(&b, `<path class="line" d="%s"/>`, strings.TrimSpace(line.String()))
	if len(pts) == 1 {
		fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="4"/>`, float64(left)+step/2, y(pts[0].total))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s</text>`,
		left, h-8, first.Format("2006-01-02"), left+plotW, h-8, last.Format("2006-01-02"))
	summary := fmt.Sprintf("Endorsements over time: %d by %s, from %s.", pts[len(pts)-1].total, last.Format("2006-01-02"), first.Format("2006-01-02"))
	return template.HTML(fmt.Sprintf(`<svg class="chart" id="chart-days" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-days-title"><title id="chart-days-title">%s</title>%s</svg>`,
		chartWidth, h, esc(summary), b.String()))
}

func esc(s string) string { return template.HTMLEscapeString(s) }
