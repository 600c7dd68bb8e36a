package web

import (
	"net/http"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/rewards"
)

// ordersView is a page of the member's orders.
type ordersView struct {
	Brand  brand
	Orders []orderRow
	Next   string
	First  string
}

// orderRow is an order as the lists and its page show it.
type orderRow struct {
	Order   rewards.Order
	URL     string
	Created string
	ISO     string
	Status  string
	// Explain says what the status means for the member.
	Explain string
}

func row(r *http.Request, o rewards.Order) orderRow {
	at := o.CreatedAt.In(tenantLocation(r.Context()))
	or := orderRow{Order: o, URL: link(r.Context(), "/orders/"+o.ID.String()), Created: at.Format(timeLayout), ISO: at.Format(time.RFC3339)}
	switch o.Status {
	case rewards.StatusPending:
		or.Status, or.Explain = "Pending", "Waiting to be shipped."
	case rewards.StatusFulfilled:
		or.Status = "Fulfilled"
		if o.Kind == rewards.KindPhysical {
			or.Explain = "Shipped."
		}
	case rewards.StatusCancelled:
		or.Status, or.Explain = "Cancelled", "The coins went back to your wallet."
	case rewards.StatusRejected:
		or.Status, or.Explain = "Rejected", "The coins went back to your wallet."
	default:
		or.Status = o.Status
	}
	return or
}

func (a *app) ordersPage(w http.ResponseWriter, r *http.Request) {
	u, ok := signedIn(w, r, here(r))
	if !ok {
		return
	}
	ctx := r.Context()
	cursor := r.URL.Query().Get("cursor")
	page, err := a.rewards.ListOrders(ctx, rewards.ListOrdersParams{Member: &u.ID, Cursor: cursor, Limit: ordersPageSize})
	if engine.ErrorCode(err) == engine.CodeInvalid {
		a.stalePage(w, r, link(ctx, "/orders"))
		return
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	v := ordersView{Brand: a.pageBrand(r)}
	for _, o := range page.Orders {
		v.Orders = append(v.Orders, row(r, o))
	}
	if page.Next != "" {
		v.Next = link(ctx, "/orders", "cursor", page.Next)
	}
	if cursor != "" {
		v.First = link(ctx, "/orders")
	}
	a.render(w, r, http.StatusOK, ordersPage(v))
}

// orderView is one of the member's orders.
type orderView struct {
	Brand brand
	Row   orderRow
	// Reward links to the reward when it is still in the catalog.
	Reward string
}

func (a *app) orderPage(w http.ResponseWriter, r *http.Request) {
	id, idOK := pathID(r)
	next := "/orders"
	if idOK {
		next += "/" + id.String()
	}
	u, ok := signedIn(w, r, next)
	if !ok {
		return
	}
	if !idOK {
		a.notFound(w, r)
		return
	}
	ctx := r.Context()
	// Another member's order is not found, like a missing one.
	o, err := a.rewards.MemberOrder(ctx, u.ID, id)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	v := orderView{Brand: a.pageBrand(r), Row: row(r, o)}
	if _, err := a.rewards.CatalogItem(ctx, u.ID, o.RewardID); err == nil {
		v.Reward = link(ctx, "/rewards/"+o.RewardID.String())
	}
	a.render(w, r, http.StatusOK, orderPage(v))
}
