package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
)

// walletView is the signed-in member's wallet: balance, notices, coins
// about to expire and a page of the history.
type walletView struct {
	Brand   brand
	Action  string // the filter's
	Balance int64
	Debt    int64
	Frozen  bool
	// Expiring are the coins that expire, per tenant-local day, soonest
	// first; LaterExpiring is what expires after the days shown.
	Expiring      []expiringDay
	LaterExpiring int64
	// Filter is the history's filter (kind, from, to: a GET form).
	Filter  form
	Kinds   []kindOption
	Entries []entryRow
	// Filtered says a filter is set (the empty history reads differently).
	Filtered bool
	// Next and First link to the next page and back to the newest
	// entries; "" when there is none.
	Next  string
	First string
}

// expiringDay is what expires on one day.
type expiringDay struct {
	Date   string
	ISO    string
	Amount int64
}

// maxExpiringDays bounds the expiring list: the soonest matter.
const maxExpiringDays = 10

// entryRow is one line of the history.
type entryRow struct {
	When   string
	ISO    string
	Label  string
	Amount int64
}

// kindOption is one choice of the kind filter.
type kindOption struct {
	Value string
	Label string
}

// entryKinds are the history's entry kinds as members read them, in the
// filter's order.
var entryKinds = []kindOption{
	{ledger.KindAward, "Earned"},
	{ledger.KindBonus, "Bonus"},
	{ledger.KindRedemption, "Redeemed"},
	{ledger.KindRefund, "Refund"},
	{ledger.KindAdjustment, "Adjusted by staff"},
	{ledger.KindReversal, "Reversed"},
	{ledger.KindExpiry, "Expired"},
	{"debt_repayment", "Debt repaid"},
}

func knownKind(k string) bool {
	for _, o := range entryKinds {
		if o.Value == k {
			return true
		}
	}
	return false
}

// entryLabel says what an entry was: "Earned: Write a post", "Redeemed:
// T-shirt", "Adjusted by staff: <reason>". Awards name their event type,
// described by the enabled plugin that declares it when one does. A
// reversal that belongs to an order is the order's refund (cancelled or
// rejected), and reads so.
func entryLabel(e ledger.Entry, events map[string]string) string {
	with := func(label, memo string) string {
		if memo = strings.TrimSpace(memo); memo != "" {
			return label + ": " + memo
		}
		return label
	}
	switch e.Kind {
	case ledger.KindAward:
		if d, ok := events[e.Memo]; ok {
			return with("Earned", d)
		}
		return with("Earned", e.Memo)
	case ledger.KindBonus:
		return "Bonus"
	case ledger.KindRedemption:
		return with("Redeemed", e.Memo)
	case ledger.KindRefund:
		return "Refund"
	case ledger.KindAdjustment:
		return with("Adjusted by staff", e.Memo)
	case ledger.KindReversal:
		if e.OrderID != nil {
			return "Refund"
		}
		return "Reversed"
	case ledger.KindExpiry:
		return "Expired"
	case "debt_repayment":
		return "Debt repaid"
	}
	return e.Kind
}

// eventDescriptions maps the event types of the enabled plugins to what
// members read ("post.created" → "Write a post").
func (a *app) eventDescriptions(ctx context.Context) map[string]string {
	out := map[string]string{}
	for _, p := range a.plugins.All() {
		m := p.Manifest()
		if !a.enablement.PluginEnabled(ctx, m.Name) {
			continue
		}
		for _, e := range m.EventTypes {
			out[e.Type] = description(e)
		}
	}
	return out
}

func description(e plugin.EventType) string {
	if e.Description != "" {
		return e.Description
	}
	return e.Type
}

// parseDay reads a date input (2006-01-02) as the start of that day in
// loc; "" is no date.
func parseDay(s string, loc *time.Location) (*time.Time, bool) {
	if s == "" {
		return nil, true
	}
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return nil, false
	}
	return &t, true
}

func (a *app) walletPage(w http.ResponseWriter, r *http.Request) {
	u, ok := signedIn(w, r, here(r))
	if !ok {
		return
	}
	ctx := r.Context()
	loc := tenantLocation(ctx)
	q := r.URL.Query()
	v := walletView{Brand: a.pageBrand(r), Action: link(ctx, "/wallet"), Filter: newForm("kind", "from", "to"), Kinds: entryKinds}
	for _, n := range []string{"kind", "from", "to"} {
		v.Filter.Set(n, strings.TrimSpace(q.Get(n)))
	}
	f := &v.Filter
	p := ledger.HistoryParams{Member: u.ID, Cursor: q.Get("cursor"), Limit: historyPageSize}
	if k := f.Get("kind"); k != "" {
		if knownKind(k) {
			p.Kinds = []string{k}
		} else {
			f.Fail("kind", "Choose a kind from the list.")
		}
	}
	since, ok := parseDay(f.Get("from"), loc)
	if !ok {
		f.Fail("from", "From must be a date, such as 2025-01-31.")
	}
	until, ok := parseDay(f.Get("to"), loc)
	if !ok {
		f.Fail("to", "To must be a date, such as 2025-01-31.")
	}
	if until != nil {
		// The last day counts whole.
		next := until.AddDate(0, 0, 1)
		until = &next
		if since != nil && !since.Before(next) {
			f.Fail("to", "To must be on or after From.")
		}
	}
	p.Since, p.Until = since, until
	v.Filtered = f.Get("kind") != "" || f.Get("from") != "" || f.Get("to") != ""
	first := link(ctx, "/wallet", "kind", f.Get("kind"), "from", f.Get("from"), "to", f.Get("to"))

	wal, err := a.ledger.Wallet(ctx, u.ID)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	v.Balance, v.Debt, v.Frozen = wal.Balance, wal.Debt, wal.FrozenAt != nil
	v.Expiring, v.LaterExpiring = expiringDays(wal.Expiring, loc)

	status := http.StatusOK
	if f.Invalid() {
		a.render(w, r, http.StatusUnprocessableEntity, walletPage(v))
		return
	}
	page, err := a.ledger.History(ctx, p)
	switch {
	case engine.ErrorCode(err) == engine.CodeInvalid:
		// The filter was checked above: only the cursor is left.
		f.Error = "This page of your history is no longer available. Start again from the newest entries."
		v.First = first
		status = http.StatusUnprocessableEntity
	case err != nil:
		a.pageError(w, r, err)
		return
	default:
		events := a.eventDescriptions(ctx)
		for _, e := range page.Entries {
			at := e.CreatedAt.In(loc)
			v.Entries = append(v.Entries, entryRow{When: at.Format(timeLayout), ISO: at.Format(time.RFC3339),
				Label: entryLabel(e, events), Amount: e.Amount})
		}
		if page.Next != "" {
			v.Next = link(ctx, "/wallet", "kind", f.Get("kind"), "from", f.Get("from"), "to", f.Get("to"), "cursor", page.Next)
		}
		if p.Cursor != "" {
			v.First = first
		}
	}
	a.render(w, r, status, walletPage(v))
}

// expiringDays sums what expires per tenant-local day, soonest first (the
// ledger lists expiries oldest first), keeping maxExpiringDays days and
// returning the rest as one sum.
func expiringDays(list []ledger.Expiry, loc *time.Location) ([]expiringDay, int64) {
	var days []expiringDay
	var later int64
	for _, e := range list {
		at := e.At.In(loc)
		d := at.Format(time.DateOnly)
		switch {
		case len(days) > 0 && days[len(days)-1].ISO == d:
			days[len(days)-1].Amount += e.Amount
		case len(days) < maxExpiringDays:
			days = append(days, expiringDay{Date: at.Format(dayLayout), ISO: d, Amount: e.Amount})
		default:
			later += e.Amount
		}
	}
	return days, later
}
