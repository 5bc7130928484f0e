package stress

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Colours of the plot: one per series, and the faults' shading.
var (
	colOK      = color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff}
	colFail    = color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}
	colP50     = color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff}
	colP90     = color.RGBA{R: 0xe7, G: 0x29, B: 0x8a, A: 0xff}
	colP99     = color.RGBA{R: 0x66, G: 0x66, B: 0x66, A: 0xff}
	colFault   = color.NRGBA{R: 0xff, G: 0x40, B: 0x40, A: 0x38} // not premultiplied: see-through
	colHeal    = color.NRGBA{R: 0x40, G: 0x80, B: 0xff, A: 0x38}
	colWhole   = color.NRGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xc0}
	failColors = []color.RGBA{
		{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}, {R: 0xe6, G: 0xab, B: 0x02, A: 0xff},
		{R: 0xa6, G: 0x76, B: 0x1d, A: 0xff}, {R: 0x7f, G: 0x00, B: 0x00, A: 0xff},
		{R: 0x66, G: 0xa6, B: 0x1e, A: 0xff},
	}
)

// WritePlot draws the report as three panels over time (throughput, latency
// percentiles, failures by kind), with each fault, the apply and the heal
// shaded where they were on, and writes it to path as PNG or SVG (by the
// file's extension).
func WritePlot(r *Report, path string) error {
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if format != "png" && format != "svg" {
		return fmt.Errorf("--plot %s: the file must end in .png or .svg", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := drawPlot(r, format, f); err != nil {
		f.Close()
		return fmt.Errorf("--plot %s: %w", path, err)
	}
	return f.Close()
}

func drawPlot(r *Report, format string, w io.Writer) error {
	panels := []*plot.Plot{throughputPanel(r), latencyPanel(r), failurePanel(r)}
	for i, p := range panels {
		marks := marksOf(r)
		marks.labels = i == 0
		p.Add(marks)
		p.X.Min, p.X.Max = 0, r.DurationS
		p.Legend.Top = true
		p.Legend.Left = false
		p.Add(plotter.NewGrid())
	}
	panels[0].Title.Text = title(r)
	panels[len(panels)-1].X.Label.Text = "seconds after the start"

	const width, height = 10 * vg.Inch, 9 * vg.Inch
	var canvas vg.CanvasWriterTo
	var dc draw.Canvas
	switch format {
	case "svg":
		c := vgsvg.New(width, height)
		canvas, dc = c, draw.New(c)
	default:
		c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
		canvas, dc = vgimg.PngCanvas{Canvas: c}, draw.New(c)
	}
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(12), PadY: vg.Points(10)}
	grid := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		grid[i] = []*plot.Plot{p}
	}
	for i, row := range plot.Align(grid, tiles, dc) {
		panels[i].Draw(row[0])
	}
	_, err := canvas.WriteTo(w)
	return err
}

func title(r *Report) string {
	load := fmt.Sprintf("%d req/s", r.RateAsked)
	if r.Model == "closed" {
		load = fmt.Sprintf("%d connections", r.Connections)
	}
	return fmt.Sprintf("stackctl stress %s: %s, %d requests, %d failed (%.2f%%)", r.Stack, load, r.Requests, r.Failed(), 100*(1-r.SuccessRatio))
}

// series builds one line over the run's seconds.
// The last second's few requests, sent as the run ended, are left out:
// they would show as a plunge to zero.
func series(r *Report, value func(Second) float64) plotter.XYs {
	xys := make(plotter.XYs, 0, len(r.Seconds))
	for _, s := range r.Seconds {
		if float64(s.T) >= r.DurationS {
			break
		}
		xys = append(xys, plotter.XY{X: float64(s.T) + 0.5, Y: value(s)})
	}
	return xys
}

// headroom leaves the top quarter of a panel to its legend.
func headroom(p *plot.Plot, factor float64) {
	p.Y.Max *= factor
}

func addLine(p *plot.Plot, name string, c color.Color, dashed bool, xys plotter.XYs) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return // no points: nothing to draw
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
}

func throughputPanel(r *Report) *plot.Plot {
	p := plot.New()
	p.Y.Label.Text = "requests/s"
	p.Y.Min = 0
	addLine(p, "answered 2xx/3xx", colOK, false, series(r, func(s Second) float64 { return float64(s.Successes) }))
	addLine(p, "failed", colFail, true, series(r, func(s Second) float64 { return float64(s.Requests - s.Successes) }))
	headroom(p, 1.35)
	return p
}

func latencyPanel(r *Report) *plot.Plot {
	p := plot.New()
	p.Y.Label.Text = "latency (ms, log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	floor := func(v float64) float64 { return max(v, 0.1) } // a log scale has no 0
	addLine(p, "p50", colP50, false, series(r, func(s Second) float64 { return floor(s.Latency.P50) }))
	addLine(p, "p90", colP90, false, series(r, func(s Second) float64 { return floor(s.Latency.P90) }))
	addLine(p, "p99", colP99, true, series(r, func(s Second) float64 { return floor(s.Latency.P99) }))
	headroom(p, 6)
	return p
}

func failurePanel(r *Report) *plot.Plot {
	p := plot.New()
	p.Y.Label.Text = "failures/s by kind"
	p.Y.Min = 0
	for i, k := range FailureKinds(r.Failures) {
		addLine(p, k, failColors[i%len(failColors)], false, series(r, func(s Second) float64 { return float64(s.Failures[k]) }))
	}
	if len(r.Failures) == 0 {
		p.Y.Max = 1
		addLine(p, "none failed", colOK, false, series(r, func(Second) float64 { return 0 }))
	}
	headroom(p, 1.35)
	return p
}

// mark is a stretch of the run to shade: a fault, the apply, the heal.
type mark struct {
	from, to float64
	label    string
	color    color.Color
}

// marks shades stretches behind a panel's lines, labelled on the first.
type marks struct {
	items  []mark
	labels bool
}

func marksOf(r *Report) *marks {
	m := &marks{}
	end := r.DurationS
	for _, h := range r.Faults {
		to := h.At + 0.4 // an instant fault shows as a thin band
		if h.Until != nil {
			to = *h.Until
		} else if h.Kind.Lasting() {
			to = end
		}
		m.items = append(m.items, mark{from: h.At, to: to, label: h.Spec, color: colFault})
	}
	if a := r.Apply; a != nil {
		m.items = append(m.items, mark{from: a.At, to: a.At + a.Took, label: "apply " + filepath.Base(a.File), color: colHeal})
	}
	if rv := r.Recovery; rv != nil && rv.Heal != nil {
		m.items = append(m.items, mark{from: rv.Heal.At, to: rv.Heal.At + rv.Heal.Took, label: "heal", color: colHeal})
	}
	if rv := r.Recovery; rv != nil && rv.WholeAt != nil {
		m.items = append(m.items, mark{from: *rv.WholeAt, to: *rv.WholeAt + 0.2, label: "whole", color: colWhole})
	}
	return m
}

// Plot draws the shading; it implements plot.Plotter.
func (m *marks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, 9), Handler: plot.DefaultTextHandler}
	for i, it := range m.items {
		x0, x1 := trX(it.from), trX(max(it.to, it.from+0.2))
		c.FillPolygon(it.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		if m.labels {
			// Stagger the labels so faults close together stay readable.
			y := c.Max.Y - vg.Points(11)*vg.Length(1+i%3)
			c.FillText(sty, vg.Point{X: x0 + vg.Points(2), Y: y}, it.label)
		}
	}
}
