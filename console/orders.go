package console

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/rewards"
)

// ordersView is the order queue: pending orders unless another status is
// chosen.
type ordersView struct {
	Orders []rewards.Order
	Status string // the filter: "" (pending), "all", or a status
	Member string // the member filter as typed: an email or an ID
	Cursor string
	Next   string
	Error  string
}

// orderStatuses are the choices of the status filter; "" is the queue.
var orderStatuses = []struct{ Value, Label string }{
	{"", "Pending (the queue)"},
	{rewards.StatusFulfilled, "Fulfilled"},
	{rewards.StatusCancelled, "Cancelled"},
	{rewards.StatusRejected, "Rejected"},
	{"all", "All"},
}

// orderView is an order with the forms that settle it.
type orderView struct {
	Order      rewards.Order
	Member     *identity.User // nil when the member cannot be read
	Fulfil     *formReader
	Refund     *formReader
	Error      string // why an action was refused
	Notice     string
	CanWallets bool // the viewer may open wallets and transactions
}

var orderLabels = map[string]string{"note": "Note", "reason": "Reason", "member": "Member", "status": "Status"}

func (c *console) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := ordersView{Status: q.Get("status"), Member: q.Get("member"), Cursor: q.Get("cursor")}
	p := rewards.ListOrdersParams{Status: v.Status, Cursor: v.Cursor, Limit: min(c.pageSize, 100)}
	switch v.Status {
	case "":
		p.Status = rewards.StatusPending
	case "all":
		p.Status = ""
	}
	status := http.StatusOK
	if v.Member != "" {
		f := newFormReader(q)
		if id, ok := c.findMember(r, f, "member", orderLabels["member"], false); ok {
			p.Member = &id
		} else {
			v.Error = "The filter is not valid: " + f.Errors["member"]
			c.render(w, r, http.StatusBadRequest, ordersPage(c.chrome(r, "Orders", "orders"), v))
			return
		}
	}
	page, err := c.rewards.ListOrders(r.Context(), p)
	switch engine.ErrorCode(err) {
	case "":
		v.Orders, v.Next = page.Orders, page.Next
	case engine.CodeInvalid:
		v.Error = "The filter is not valid: " + problems(err) + "."
		status = http.StatusBadRequest
	default:
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, ordersPage(c.chrome(r, "Orders", "orders"), v))
}

var orderNotices = map[string]string{
	"fulfilled": "Order fulfilled. The member sees it as delivered.",
	"cancelled": "Order cancelled. The coins went back to the member's wallet.",
	"rejected":  "Order rejected. The coins went back to the member's wallet.",
}

func (c *console) showOrder(w http.ResponseWriter, r *http.Request) {
	c.orderPage(w, r, http.StatusOK, func(v *orderView) { v.Notice = orderNotices[r.URL.Query().Get("done")] })
}

// orderPage renders the order of the path with status; edit adds what the
// request has to say.
func (c *console) orderPage(w http.ResponseWriter, r *http.Request, status int, edit func(*orderView)) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	o, err := c.rewards.Order(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := orderView{Order: o, Fulfil: newFormReader(nil), Refund: newFormReader(nil), CanWallets: c.can(r, "wallets:read")}
	if u, err := c.identity.Member(r.Context(), o.MemberID); err == nil {
		v.Member = &u
	}
	v.Refund.Values["idempotency_key"] = newKey()
	edit(&v)
	c.renderPage(w, r, status, orderPage(c.chrome(r, "Order "+shortID(o.ID), "orders"), v))
}

func (c *console) fulfilOrder(w http.ResponseWriter, r *http.Request) {
	c.orderAction(w, r, "fulfilled", func(id uuid.UUID, f *formReader) error {
		_, err := c.rewards.Fulfil(r.Context(), rewards.FulfilParams{Order: id, Note: f.raw("note")})
		return err
	})
}

func (c *console) cancelOrder(w http.ResponseWriter, r *http.Request) {
	c.orderAction(w, r, "cancelled", func(id uuid.UUID, f *formReader) error {
		_, err := c.rewards.Cancel(r.Context(), rewards.RefundParams{Order: id, Reason: f.raw("reason"), IdempotencyKey: f.text("idempotency_key")})
		return err
	})
}

func (c *console) rejectOrder(w http.ResponseWriter, r *http.Request) {
	c.orderAction(w, r, "rejected", func(id uuid.UUID, f *formReader) error {
		_, err := c.rewards.Reject(r.Context(), rewards.RefundParams{Order: id, Reason: f.raw("reason"), IdempotencyKey: f.text("idempotency_key")})
		return err
	})
}

// orderAction runs one action on an order: success goes back to the order
// with a notice; a refusal (not pending: 409) or a bad form (422) shows the
// order again with the problem by its form, and nothing changed.
func (c *console) orderAction(w http.ResponseWriter, r *http.Request, done string, action func(uuid.UUID, *formReader) error) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	f := newFormReader(r.PostForm)
	err := action(id, f)
	code := engine.ErrorCode(err)
	switch code {
	case "":
		redirect(w, r, orderURL(consoleBase(r.Context()), id)+"?done="+done)
	case engine.CodeInvalid, engine.CodeConflict:
		var summary string
		if code == engine.CodeInvalid {
			summary = f.merge(err, orderLabels, nil, "Nothing was changed.")
		} else {
			summary = sentence(engine.ErrorMessage(err))
		}
		c.orderPage(w, r, api.StatusFor(code), func(v *orderView) {
			v.Error = summary
			if done == "fulfilled" {
				v.Fulfil = f
			} else {
				// The same key again: nothing was applied under it.
				v.Refund = f
			}
		})
	default:
		c.fail(w, r, err)
	}
}

// orderURL is an order's page.
func orderURL(base string, id uuid.UUID) string { return base + "/orders/" + id.String() }

// ordersURL is a page of the orders with the filters of v.
func ordersURL(base string, v ordersView, cursor string) string {
	return pageURL(base+"/orders", map[string]string{"status": v.Status, "member": v.Member, "cursor": cursor})
}

// shortID is the end of an ID, enough to tell rows apart: the start of a
// UUIDv7 is its time, shared by IDs made in the same moment.
func shortID(id uuid.UUID) string {
	s := id.String()
	return s[len(s)-8:]
}

// orderBadge is the badge class of an order status.
func orderBadge(status string) string {
	switch status {
	case rewards.StatusPending:
		return "badge status-pending"
	case rewards.StatusFulfilled:
		return "badge status-active"
	default:
		return "badge status-suspended"
	}
}
