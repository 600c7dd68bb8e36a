package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/ledger"
)

// walletView is a member's wallet: balance, debt, freeze, a page of its
// history, and (for those who may) the forms that change it.
type walletView struct {
	Member    identity.User
	Wallet    ledger.Wallet
	Entries   []ledger.Entry
	Filter    historyFilter
	Next      string
	Error     string // a problem with the filters
	CanManage bool
	Adjust    *formReader
	AdjustErr string
	Freeze    *formReader
	FreezeErr string
	Notice    string
}

// historyFilter is the history's filters as typed.
type historyFilter struct {
	Kind   string
	Since  string // YYYY-MM-DD, tenant-local
	Until  string // YYYY-MM-DD, inclusive
	Cursor string
}

// entryKinds are the choices of the history's kind filter.
var entryKinds = []string{
	ledger.KindAward, ledger.KindBonus, ledger.KindRedemption, ledger.KindRefund, ledger.KindAdjustment,
	ledger.KindReversal, ledger.KindExpiry, "debt_repayment",
}

var adjustLabels = map[string]string{"amount": "Amount", "reason": "Reason", "direction": "Grant or deduct"}

var walletNotices = map[string]string{
	"granted":  "Coins granted.",
	"deducted": "Coins deducted.",
	"frozen":   "Wallet frozen: it neither earns nor spends until unfrozen.",
	"unfrozen": "Wallet unfrozen.",
}

func (c *console) showWallet(w http.ResponseWriter, r *http.Request) {
	c.walletPage(w, r, http.StatusOK, func(v *walletView) { v.Notice = walletNotices[r.URL.Query().Get("done")] })
}

// walletPage renders the wallet of the path's member with status; edit
// adds what the request has to say.
func (c *console) walletPage(w http.ResponseWriter, r *http.Request, status int, edit func(*walletView)) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	u, err := c.identity.Member(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	wallet, err := c.ledger.Wallet(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	v := walletView{
		Member: u, Wallet: wallet, CanManage: c.can(r, "wallets:manage"),
		Filter: historyFilter{Kind: q.Get("kind"), Since: q.Get("since"), Until: q.Get("until"), Cursor: q.Get("cursor")},
		Adjust: newFormReader(nil), Freeze: newFormReader(nil),
	}
	v.Adjust.Values = map[string]string{"direction": "grant", "idempotency_key": newKey()}
	p := ledger.HistoryParams{Member: id, Cursor: v.Filter.Cursor, Limit: min(c.pageSize, 100)}
	if v.Filter.Kind != "" {
		p.Kinds = []string{v.Filter.Kind}
	}
	loc := zone(r)
	for _, d := range []struct {
		raw   string
		into  **time.Time
		label string
		next  bool
	}{{v.Filter.Since, &p.Since, "from", false}, {v.Filter.Until, &p.Until, "to", true}} {
		if d.raw == "" {
			continue
		}
		day, err := time.ParseInLocation(time.DateOnly, d.raw, loc)
		if err != nil {
			v.Error = "The filter is not valid: " + d.label + " must be a date such as 2030-12-31."
			continue
		}
		if d.next {
			day = day.AddDate(0, 0, 1)
		}
		*d.into = &day
	}
	edit(&v)
	if v.Error == "" {
		page, err := c.ledger.History(ctx, p)
		switch engine.ErrorCode(err) {
		case "":
			v.Entries, v.Next = page.Entries, page.Next
		case engine.CodeInvalid:
			v.Error = "The filter is not valid: " + problems(err) + "."
		default:
			c.fail(w, r, err)
			return
		}
	}
	if v.Error != "" && status == http.StatusOK {
		status = http.StatusBadRequest
	}
	c.renderPage(w, r, status, walletPage(c.chrome(r, "Wallet of "+u.Email, "members"), v))
}

// adjustWallet grants or deducts coins. The form carries an idempotency
// key made when it was shown: submitting it twice applies it once.
func (c *console) adjustWallet(w http.ResponseWriter, r *http.Request) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	f := newFormReader(r.PostForm)
	direction := f.text("direction")
	amount := f.integer("amount", adjustLabels["amount"])
	p := ledger.AdjustParams{Member: id, Reason: f.raw("reason"), IdempotencyKey: f.text("idempotency_key")}
	switch {
	case direction != "grant" && direction != "deduct":
		f.Errors["direction"] = "Choose to grant or to deduct."
	case f.Errors["amount"] == "" && amount <= 0:
		f.Errors["amount"] = "Amount must be a whole number of coins above zero."
	case direction == "deduct":
		p.Amount = -amount
	default:
		p.Amount = amount
	}
	if len(f.Errors) > 0 {
		summary := f.summary("Nothing was changed.")
		c.walletPage(w, r, http.StatusUnprocessableEntity, func(v *walletView) { v.Adjust, v.AdjustErr = f, summary })
		return
	}
	_, err := c.ledger.Adjust(r.Context(), p)
	code := engine.ErrorCode(err)
	switch {
	case code == "":
		done := map[bool]string{true: "granted", false: "deducted"}[p.Amount > 0]
		redirect(w, r, walletURL(consoleBase(r.Context()), id)+"?done="+done)
	case errors.Is(err, ledger.ErrKeyReused):
		// The form was submitted before with other values (the browser's
		// back button): show it again with a fresh key.
		f.Values["idempotency_key"] = newKey()
		c.walletPage(w, r, http.StatusConflict, func(v *walletView) {
			v.Adjust, v.AdjustErr = f, "This form was already used for another change. Check the history below, then submit again."
		})
	case code == engine.CodeInvalid || code == engine.CodeConflict:
		summary := sentence(engine.ErrorMessage(err))
		if code == engine.CodeInvalid {
			summary = f.merge(err, adjustLabels, nil, "Nothing was changed.")
		} else if errors.Is(err, ledger.ErrInsufficientFunds) {
			f.Errors["amount"] = "The wallet holds fewer coins than that: nothing was deducted."
			summary = f.summary("Nothing was changed.")
		}
		c.walletPage(w, r, api.StatusFor(code), func(v *walletView) { v.Adjust, v.AdjustErr = f, summary })
	default:
		c.fail(w, r, err)
	}
}

func (c *console) freezeWallet(w http.ResponseWriter, r *http.Request) {
	c.setFrozen(w, r, true)
}

func (c *console) unfreezeWallet(w http.ResponseWriter, r *http.Request) {
	c.setFrozen(w, r, false)
}

// setFrozen freezes or unfreezes the path's member's wallet; doing it twice
// changes nothing more.
func (c *console) setFrozen(w http.ResponseWriter, r *http.Request, frozen bool) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	f := newFormReader(r.PostForm)
	reason := f.raw("reason")
	if len(reason) > 500 {
		f.Errors["reason"] = "Reason must be at most 500 characters."
		c.walletPage(w, r, http.StatusUnprocessableEntity, func(v *walletView) { v.Freeze, v.FreezeErr = f, f.summary("Nothing was changed.") })
		return
	}
	if _, err := c.ledger.SetFrozen(r.Context(), id, frozen, reason); err != nil {
		c.fail(w, r, err)
		return
	}
	done := map[bool]string{true: "frozen", false: "unfrozen"}[frozen]
	redirect(w, r, walletURL(consoleBase(r.Context()), id)+"?done="+done)
}

// transactionView is a transaction with all its entries, and the form
// that reverses it.
type transactionView struct {
	Tx         ledger.Transaction
	Member     *uuid.UUID // the wallet it moved, if any
	CanManage  bool
	CanOrders  bool
	Reverse    *formReader
	ReverseErr string
	Notice     string
}

var reverseLabels = map[string]string{"reason": "Reason", "policy": "Policy"}

func (c *console) showTransaction(w http.ResponseWriter, r *http.Request) {
	c.transactionPage(w, r, http.StatusOK, func(v *transactionView) {
		if r.URL.Query().Get("done") == "reversed" {
			v.Notice = "Transaction reversed."
		}
	})
}

func (c *console) transactionPage(w http.ResponseWriter, r *http.Request, status int, edit func(*transactionView)) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	t, err := c.ledger.Transaction(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := transactionView{Tx: t, CanManage: c.can(r, "wallets:manage"), CanOrders: c.can(r, "orders:manage"), Reverse: newFormReader(nil)}
	for _, e := range t.Entries {
		if e.Account == "wallet" {
			v.Member = &e.AccountID
		}
	}
	v.Reverse.Values = map[string]string{"policy": ledger.ReverseRemaining, "idempotency_key": newKey()}
	edit(&v)
	c.renderPage(w, r, status, transactionPage(c.chrome(r, "Transaction "+shortID(t.ID), "members"), v))
}

// reverseTransaction reverses the path's transaction, once: the form's
// idempotency key makes a second submit answer the first reversal.
func (c *console) reverseTransaction(w http.ResponseWriter, r *http.Request) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	f := newFormReader(r.PostForm)
	p := ledger.ReverseParams{TransactionID: id, Reason: f.raw("reason"), Policy: f.text("policy"), IdempotencyKey: f.text("idempotency_key")}
	_, err := c.ledger.Reverse(r.Context(), p)
	code := engine.ErrorCode(err)
	switch code {
	case "":
		redirect(w, r, transactionURL(consoleBase(r.Context()), id)+"?done=reversed")
	case engine.CodeInvalid, engine.CodeConflict:
		summary := sentence(engine.ErrorMessage(err))
		if code == engine.CodeInvalid {
			summary = f.merge(err, reverseLabels, nil, "Nothing was reversed.")
		}
		c.transactionPage(w, r, api.StatusFor(code), func(v *transactionView) { v.Reverse, v.ReverseErr = f, summary })
	default:
		c.fail(w, r, err)
	}
}

// walletURL is a member's wallet page.
func walletURL(base string, member uuid.UUID) string { return memberURL(base, member) + "/wallet" }

// transactionURL is a transaction's page.
func transactionURL(base string, id uuid.UUID) string { return base + "/transactions/" + id.String() }

// historyURL is a page of a wallet's history with the filters of f.
func historyURL(base string, member uuid.UUID, f historyFilter, cursor string) string {
	return pageURL(walletURL(base, member), map[string]string{"kind": f.Kind, "since": f.Since, "until": f.Until, "cursor": cursor})
}

// canReverse reports whether t may be reversed: not a reversal, not
// reversed yet.
func canReverse(t ledger.Transaction) bool {
	return t.Kind != ledger.KindReversal && t.ReversedBy == nil
}

// amountClass colours an amount by its sign.
func amountClass(n int64) string {
	if n < 0 {
		return "amount negative"
	}
	return "amount positive"
}
