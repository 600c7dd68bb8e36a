package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/guildhall/guildhall/engine/ledger"
)

// chartDays is how many days the dashboard's chart shows.
const chartDays = 30

// dashboardView is the tenant console's home: the coins chart for those
// who may read wallets.
type dashboardView struct {
	Chart *coinsChart
}

func (c *console) dashboard(w http.ResponseWriter, r *http.Request) {
	var v dashboardView
	if c.can(r, "wallets:read") {
		loc := zone(r)
		today := c.now().In(loc)
		from := today.AddDate(0, 0, -(chartDays - 1))
		stats, err := c.ledger.Stats(r.Context(), from, today)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		v.Chart = newCoinsChart(from, stats)
	}
	c.render(w, r, http.StatusOK, dashboardPage(c.chrome(r, "Dashboard", "dashboard"), v))
}

// coinsChart is the figures of chartDays days laid out as an SVG bar
// chart: for each day a bar of coins issued and one of coins redeemed.
// Coordinates are in the SVG's user units.
type coinsChart struct {
	From, To              string
	Days                  []chartDay
	Issued, Redeemed      int64 // totals
	Ticks                 []chartTick
	Width, Height         int
	Left, Right, Top, Bot float64 // the plot area's edges
}

// chartDay is one day's bars.
type chartDay struct {
	Day              string
	Issued, Redeemed int64
	IssuedBar        chartBar
	RedeemedBar      chartBar
	Label            string // the axis label, every few days
	LabelX           float64
}

// chartBar is a rectangle.
type chartBar struct{ X, Y, W, H float64 }

// chartTick is a horizontal grid line with its value.
type chartTick struct {
	Y     float64
	Label string
}

// newCoinsChart lays out the days from from on, filling days without
// figures (not computed yet, or nothing happened) with zeros.
func newCoinsChart(from time.Time, stats []ledger.DayStats) *coinsChart {
	byDay := map[string]ledger.DayStats{}
	for _, s := range stats {
		byDay[s.Day] = s
	}
	ch := &coinsChart{Width: 720, Height: 260, Left: 56, Right: 708, Top: 16, Bot: 224}
	var peak int64
	for i := range chartDays {
		day := from.AddDate(0, 0, i).Format(time.DateOnly)
		s := byDay[day]
		ch.Days = append(ch.Days, chartDay{Day: day, Issued: s.Issued, Redeemed: s.Redeemed})
		ch.Issued += s.Issued
		ch.Redeemed += s.Redeemed
		peak = max(peak, s.Issued, s.Redeemed)
	}
	ch.From, ch.To = ch.Days[0].Day, ch.Days[len(ch.Days)-1].Day
	top := niceCeiling(peak)
	height := ch.Bot - ch.Top
	y := func(v int64) float64 { return ch.Bot - float64(v)/float64(top)*height }
	for i := range 5 {
		v := top * int64(i) / 4
		ch.Ticks = append(ch.Ticks, chartTick{Y: y(v), Label: formatCoins(v)})
	}
	slot := (ch.Right - ch.Left) / chartDays
	for i := range ch.Days {
		d := &ch.Days[i]
		x := ch.Left + float64(i)*slot
		d.IssuedBar = chartBar{X: x + slot*0.1, Y: y(d.Issued), W: slot * 0.4, H: ch.Bot - y(d.Issued)}
		d.RedeemedBar = chartBar{X: x + slot*0.5, Y: y(d.Redeemed), W: slot * 0.4, H: ch.Bot - y(d.Redeemed)}
		if i%5 == 0 || i == len(ch.Days)-1 {
			d.Label, d.LabelX = d.Day[5:], x+slot/2
		}
	}
	return ch
}

// niceCeiling is the smallest round number (1, 2, 4, 5 or 8 times a power
// of ten) that is at least v and divisible by 4, so the grid's quarters are
// whole coins.
func niceCeiling(v int64) int64 {
	if v <= 4 {
		return 4
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 4, 5, 8} {
			if m*p >= v && m*p%4 == 0 {
				return m * p
			}
		}
	}
}

// num formats an SVG coordinate.
func num(f float64) string { return fmt.Sprintf("%.1f", f) }

// summary describes the chart in words, for its <desc>.
func (ch *coinsChart) summary() string {
	return fmt.Sprintf("Bars per day from %s to %s: %s coins issued and %s coins redeemed in total. The table below lists every day.",
		ch.From, ch.To, formatCoins(ch.Issued), formatCoins(ch.Redeemed))
}
