package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/rewards"
)

// catalogView is the rewards a member can redeem now.
type catalogView struct {
	Brand   brand
	Balance int64
	Cards   []rewardCard
	Next    string
	First   string
}

// rewardCard is a reward as the catalog and its page show it.
type rewardCard struct {
	Item rewards.CatalogItem
	// Image is the item's https image URL, or "".
	Image string
	URL   string
	// Reason says why the member cannot redeem it now; "" when they can.
	Reason string
	// Until is when it leaves the catalog, tenant-local; "" for never.
	Until string
}

// card describes item for a member with balance coins in a wallet that is
// frozen or not.
func card(r *http.Request, item rewards.CatalogItem, balance int64, frozen bool) rewardCard {
	c := rewardCard{Item: item, Image: httpsImage(item.ImageURL), URL: link(r.Context(), "/rewards/"+item.ID.String())}
	if item.AvailableUntil != nil {
		c.Until = item.AvailableUntil.In(tenantLocation(r.Context())).Format(timeLayout)
	}
	switch {
	case item.Remaining != nil && *item.Remaining <= 0:
		c.Reason = "Out of stock"
	case item.MyRemaining != nil && *item.MyRemaining <= 0:
		c.Reason = "You have redeemed this as many times as allowed"
	case !item.Redeemable:
		c.Reason = "Not available now"
	case frozen:
		c.Reason = "Your wallet is frozen"
	case item.Price > balance:
		c.Reason = "You need " + coinCount(item.Price-balance) + " more"
	}
	return c
}

func (a *app) rewardsPage(w http.ResponseWriter, r *http.Request) {
	u, ok := signedIn(w, r, here(r))
	if !ok {
		return
	}
	ctx := r.Context()
	wal, err := a.ledger.Wallet(ctx, u.ID)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	page, err := a.rewards.Catalog(ctx, rewards.CatalogParams{Member: u.ID, Cursor: cursor, Limit: catalogPageSize})
	if engine.ErrorCode(err) == engine.CodeInvalid {
		a.stalePage(w, r, link(ctx, "/rewards"))
		return
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	v := catalogView{Brand: a.pageBrand(r), Balance: wal.Balance}
	for _, it := range page.Items {
		v.Cards = append(v.Cards, card(r, it, wal.Balance, wal.FrozenAt != nil))
	}
	if page.Next != "" {
		v.Next = link(ctx, "/rewards", "cursor", page.Next)
	}
	if cursor != "" {
		v.First = link(ctx, "/rewards")
	}
	a.render(w, r, http.StatusOK, rewardsPage(v))
}

// rewardView is one reward with the form that redeems it.
type rewardView struct {
	Brand   brand
	Card    rewardCard
	Balance int64
	Action  string
	// Form carries the idempotency key and, for physical rewards, the
	// shipping address.
	Form     form
	Physical bool
}

// Inputs of the redeem form. The shipping address's inputs are named as
// the service's address fields.
var (
	keyInput      = "idempotency_key"
	addressInputs = []string{"name", "line1", "line2", "city", "postal_code", "country"}
	redeemInputs  = append([]string{keyInput}, addressInputs...)
	// addressRename maps the service's field names to the form's inputs.
	addressRename = map[string]string{
		"shipping_address.name": "name", "shipping_address.line1": "line1", "shipping_address.line2": "line2",
		"shipping_address.city": "city", "shipping_address.postal_code": "postal_code", "shipping_address.country": "country",
		"idempotency_key": keyInput,
	}
)

// rewardItem returns the reward of r's path as the signed-in member sees
// it, or answers (sign in, 404, 500) and reports false.
func (a *app) rewardItem(w http.ResponseWriter, r *http.Request) (identity.User, rewards.CatalogItem, ledger.Wallet, bool) {
	id, idOK := pathID(r)
	next := "/rewards"
	if idOK {
		next += "/" + id.String()
	}
	u, ok := signedIn(w, r, next)
	if !ok {
		return u, rewards.CatalogItem{}, ledger.Wallet{}, false
	}
	if !idOK {
		a.notFound(w, r)
		return u, rewards.CatalogItem{}, ledger.Wallet{}, false
	}
	// Another tenant's reward is not found here: RLS hides it.
	item, err := a.rewards.CatalogItem(r.Context(), u.ID, id)
	if err != nil {
		a.pageError(w, r, err)
		return u, item, ledger.Wallet{}, false
	}
	wal, err := a.ledger.Wallet(r.Context(), u.ID)
	if err != nil {
		a.pageError(w, r, err)
		return u, item, wal, false
	}
	return u, item, wal, true
}

func (a *app) rewardView(r *http.Request, item rewards.CatalogItem, wal ledger.Wallet, f form) rewardView {
	return rewardView{
		Brand:    a.pageBrand(r),
		Card:     card(r, item, wal.Balance, wal.FrozenAt != nil),
		Balance:  wal.Balance,
		Action:   link(r.Context(), "/rewards/"+item.ID.String()+"/redeem"),
		Form:     f,
		Physical: item.Kind == rewards.KindPhysical,
	}
}

func (a *app) rewardPage(w http.ResponseWriter, r *http.Request) {
	_, item, wal, ok := a.rewardItem(w, r)
	if !ok {
		return
	}
	f := newForm(redeemInputs...)
	f.Set(keyInput, newKey())
	a.render(w, r, http.StatusOK, rewardPage(a.rewardView(r, item, wal, f)))
}

// redeem places the order of the redeem form and goes to it. The form's
// idempotency key was made when the form was rendered, so a form sent
// twice (a double click, a retry after a timeout) answers the first order
// and spends nothing more. Anything that stops the order comes back as the
// form with the reason (4xx), with nothing spent.
func (a *app) redeem(w http.ResponseWriter, r *http.Request) {
	u, item, wal, ok := a.rewardItem(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v := a.rewardView(r, item, wal, postedForm(r, redeemInputs...))
	f := &v.Form
	if ledger.CheckKey(f.Get(keyInput)) != nil {
		// Not a form this app rendered (or a very old one): a fresh key
		// makes the next submit count.
		f.Set(keyInput, newKey())
		f.Error = "This form has expired. Please check it and redeem again."
		a.render(w, r, http.StatusUnprocessableEntity, rewardPage(v))
		return
	}
	var addr *rewards.Address
	if v.Physical {
		f.Require("name", "line1", "city", "postal_code", "country")
		if c := strings.TrimSpace(f.Get("country")); c != "" && !countryCode(c) {
			f.Fail("country", "Country must be a two-letter code, such as DE.")
		}
		if f.Invalid() {
			a.render(w, r, http.StatusUnprocessableEntity, rewardPage(v))
			return
		}
		addr = &rewards.Address{Name: f.Get("name"), Line1: f.Get("line1"), Line2: f.Get("line2"), City: f.Get("city"),
			PostalCode: f.Get("postal_code"), Country: f.Get("country")}
	}
	o, _, err := a.rewards.Redeem(ctx, rewards.RedeemParams{Reward: item.ID, Member: u.ID, ShippingAddress: addr, IdempotencyKey: f.Get(keyInput)})
	if err != nil {
		status := a.redeemFailed(r, f, err, item, wal)
		// Show the reward as it is now (stock, balance).
		if fresh, err := a.rewards.CatalogItem(ctx, u.ID, item.ID); err == nil {
			if wal, err := a.ledger.Wallet(ctx, u.ID); err == nil {
				v.Card = card(r, fresh, wal.Balance, wal.FrozenAt != nil)
				v.Balance = wal.Balance
			}
		}
		a.render(w, r, status, rewardPage(v))
		return
	}
	redirect(w, r, link(ctx, "/orders/"+o.ID.String(), "notice", "redeemed"))
}

// redeemFailed shows why a redemption failed on f, in the member's words
// where the service's are about "the wallet", and returns the status.
func (a *app) redeemFailed(r *http.Request, f *form, err error, item rewards.CatalogItem, wal ledger.Wallet) int {
	switch {
	case errors.Is(err, ledger.ErrInsufficientFunds):
		f.Error = fmt.Sprintf("You don't have enough coins: this reward costs %s and your balance is %s.",
			coinCount(item.Price), coinCount(wal.Balance))
	case errors.Is(err, ledger.ErrFrozen):
		f.Error = "Your wallet is frozen, so it cannot spend coins. Please contact the community's staff."
	case errors.Is(err, ledger.ErrKeyReused):
		f.Error = "This form was already used for an order with other details. Nothing more was redeemed: see your orders, or reload this page to redeem again."
		f.Set(keyInput, newKey())
	default:
		return a.fail(r, f, err, addressRename)
	}
	return http.StatusUnprocessableEntity
}

// countryCode reports whether s is two ASCII letters, as an ISO 3166-1
// alpha-2 code is (the service upper-cases it).
func countryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for _, c := range strings.ToUpper(s) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
