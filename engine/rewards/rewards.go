package rewards

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
)

// Kinds of reward.
const (
	KindPhysical = "physical" // shipped: a redemption needs a shipping address
	KindCoupon   = "coupon"   // a code from the reward's uploaded pool, one per order
	KindDigital  = "digital"  // a digital good or a service: nothing to ship
)

// Order statuses.
const (
	StatusPending   = "pending"
	StatusFulfilled = "fulfilled"
	StatusCancelled = "cancelled"
	StatusRejected  = "rejected"
)

// Bounds of a reward's numbers.
const (
	MaxPrice          = 1_000_000_000 // coins
	MaxStock          = 1_000_000_000
	MaxPerMemberLimit = 1_000_000
	MaxCodesPerUpload = 10_000
	MaxCodeLength     = 200
)

// Reward is an item of the catalog, as staff see it.
type Reward struct {
	ID             uuid.UUID  `json:"id"`
	Name           string     `json:"name"`
	Description    string     `json:"description"`
	ImageURL       string     `json:"image_url" doc:"An https URL, or empty."`
	Kind           string     `json:"kind" enum:"physical,coupon,digital"`
	Price          int64      `json:"price" doc:"Coins."`
	Stock          *int       `json:"stock,omitempty" doc:"Items left; absent: unlimited."`
	PerMemberLimit *int       `json:"per_member_limit,omitempty" doc:"Live (pending or fulfilled) orders one member may hold; absent: no limit."`
	AvailableFrom  *time.Time `json:"available_from,omitempty"`
	AvailableUntil *time.Time `json:"available_until,omitempty"`
	Active         bool       `json:"active"`
	CodesAvailable *int       `json:"codes_available,omitempty" doc:"Coupon rewards: codes not yet handed out."`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// CatalogItem is a reward as a member sees it: only active rewards inside
// their window are listed.
type CatalogItem struct {
	ID             uuid.UUID  `json:"id"`
	Name           string     `json:"name"`
	Description    string     `json:"description"`
	ImageURL       string     `json:"image_url"`
	Kind           string     `json:"kind" enum:"physical,coupon,digital" doc:"physical rewards need a shipping address."`
	Price          int64      `json:"price" doc:"Coins."`
	Remaining      *int       `json:"remaining,omitempty" doc:"Items left (for coupons: at most the codes left); absent: unlimited."`
	MyRemaining    *int       `json:"my_remaining,omitempty" doc:"How many more the member may redeem; absent: no limit."`
	AvailableUntil *time.Time `json:"available_until,omitempty"`
	Redeemable     bool       `json:"redeemable" doc:"In stock and within the member's limit (the balance is not checked)."`
}

// Address is where a physical reward ships.
type Address struct {
	Name       string `json:"name" maxLength:"100" doc:"Who receives it."`
	Line1      string `json:"line1" maxLength:"200"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	City       string `json:"city" maxLength:"100"`
	Region     string `json:"region,omitempty" maxLength:"100" doc:"State, province or county, where the country uses one."`
	PostalCode string `json:"postal_code,omitempty" maxLength:"20"`
	Country    string `json:"country" minLength:"2" maxLength:"2" doc:"ISO 3166-1 alpha-2 code, such as DE."`
	Phone      string `json:"phone,omitempty" maxLength:"30" doc:"For the carrier."`
}

// Order is what a redemption created.
type Order struct {
	ID              uuid.UUID  `json:"id"`
	RewardID        uuid.UUID  `json:"reward_id"`
	RewardName      string     `json:"reward_name"`
	Kind            string     `json:"kind" enum:"physical,coupon,digital"`
	MemberID        uuid.UUID  `json:"member_id"`
	Coins           int64      `json:"coins" doc:"What the member paid."`
	Status          string     `json:"status" enum:"pending,fulfilled,cancelled,rejected"`
	ShippingAddress *Address   `json:"shipping_address,omitempty"`
	Code            string     `json:"code,omitempty" doc:"Coupon rewards: the member's code."`
	RedemptionID    uuid.UUID  `json:"redemption_id" doc:"The ledger transaction that debited the wallet."`
	RefundID        *uuid.UUID `json:"refund_id,omitempty" doc:"Cancelled and rejected orders: the ledger transaction that refunded it."`
	Note            string     `json:"note,omitempty" doc:"Staff's note: a tracking number, why it was cancelled."`
	HandledBy       string     `json:"handled_by,omitempty" doc:"Staff only: who fulfilled, cancelled or rejected it (user:<id>, api_key:<prefix>)."`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	FulfilledAt     *time.Time `json:"fulfilled_at,omitempty"`
	RefundedAt      *time.Time `json:"refunded_at,omitempty"`
}

// Errors callers branch on.
var (
	ErrNotFound      = &engine.Error{Code: engine.CodeNotFound, Message: "No reward has that ID."}
	ErrOrderNotFound = &engine.Error{Code: engine.CodeNotFound, Message: "No order has that ID."}
	ErrUnknownReward = &engine.Error{Code: engine.CodeInvalid, Message: "No reward has that ID.",
		Fields: []engine.FieldError{{Field: "reward_id", Message: "is not a reward of this community"}}}
	ErrUnavailable  = &engine.Error{Code: engine.CodeConflict, Message: "This reward is not available now."}
	ErrOutOfStock   = &engine.Error{Code: engine.CodeConflict, Message: "This reward is out of stock."}
	ErrLimitReached = &engine.Error{Code: engine.CodeConflict, Message: "You have redeemed this reward as many times as allowed."}
	ErrNoCodes      = &engine.Error{Code: engine.CodeConflict, Message: "This reward has no codes left."}
	ErrNotCoupon    = &engine.Error{Code: engine.CodeInvalid, Message: "Only coupon rewards have codes.",
		Fields: []engine.FieldError{{Field: "codes", Message: "can only be uploaded to a coupon reward"}}}
	ErrNotPending = &engine.Error{Code: engine.CodeConflict, Message: "Only a pending order can be fulfilled, cancelled or rejected."}
	ErrBanned     = &engine.Error{Code: engine.CodeForbidden, Message: "This account is banned from this community."}
)

// notPending answers a transition of an order that is not pending.
func notPending(status string) error {
	return &engine.Error{Code: engine.CodeConflict, Err: ErrNotPending,
		Message: fmt.Sprintf("This order is %s; only a pending order can be fulfilled, cancelled or rejected.", status)}
}

// RewardParams are the fields staff set on a reward. On update every
// field is replaced (a missing Stock means unlimited) except Kind, which
// cannot change, and Active, which nil leaves as it is.
type RewardParams struct {
	Name           string
	Description    string
	ImageURL       string
	Kind           string // create: required; update: empty or unchanged
	Price          int64
	Stock          *int // nil: unlimited
	PerMemberLimit *int // nil: no limit
	AvailableFrom  *time.Time
	AvailableUntil *time.Time
	Active         *bool // nil: true on create, unchanged on update
}

// normalize trims the text fields.
func (p *RewardParams) normalize() {
	p.Name = strings.TrimSpace(p.Name)
	p.Description = strings.TrimSpace(p.Description)
	p.ImageURL = strings.TrimSpace(p.ImageURL)
	p.Kind = strings.TrimSpace(p.Kind)
}

// problems reports every problem with p; creating says whether Kind is
// required.
func (p RewardParams) problems(creating bool) []engine.FieldError {
	var out []engine.FieldError
	add := func(f, m string) { out = append(out, engine.FieldError{Field: f, Message: m}) }
	if n := utf8.RuneCountInString(p.Name); n < 1 || n > 100 || !printable(p.Name) {
		add("name", "is required: 1 to 100 characters, no control characters")
	}
	if utf8.RuneCountInString(p.Description) > 2000 || !utf8.ValidString(p.Description) {
		add("description", "must be at most 2000 characters")
	}
	if p.ImageURL != "" && !httpsURL(p.ImageURL) {
		add("image_url", "must be an https URL (at most 2000 characters) or empty")
	}
	switch {
	case p.Kind == KindPhysical, p.Kind == KindCoupon, p.Kind == KindDigital:
	case p.Kind == "" && !creating:
	default:
		add("kind", "must be physical, coupon or digital")
	}
	if p.Price < 1 || p.Price > MaxPrice {
		add("price", fmt.Sprintf("must be a whole number of coins from 1 to %d", MaxPrice))
	}
	if p.Stock != nil && (*p.Stock < 0 || *p.Stock > MaxStock) {
		add("stock", fmt.Sprintf("must be from 0 to %d, or absent for unlimited", MaxStock))
	}
	if p.PerMemberLimit != nil && (*p.PerMemberLimit < 1 || *p.PerMemberLimit > MaxPerMemberLimit) {
		add("per_member_limit", fmt.Sprintf("must be from 1 to %d, or absent for no limit", MaxPerMemberLimit))
	}
	if p.AvailableFrom != nil && p.AvailableUntil != nil && !p.AvailableFrom.Before(*p.AvailableUntil) {
		add("available_until", "must be after available_from")
	}
	return out
}

// problems reports every problem with a shipping address.
func (a Address) problems() []engine.FieldError {
	var out []engine.FieldError
	check := func(field, v string, required bool, max int) {
		n := utf8.RuneCountInString(v)
		switch {
		case required && n == 0:
			out = append(out, engine.FieldError{Field: "shipping_address." + field, Message: "is required"})
		case n > max || !printable(v):
			out = append(out, engine.FieldError{Field: "shipping_address." + field, Message: fmt.Sprintf("must be at most %d characters, no control characters", max)})
		}
	}
	check("name", a.Name, true, 100)
	check("line1", a.Line1, true, 200)
	check("line2", a.Line2, false, 200)
	check("city", a.City, true, 100)
	check("region", a.Region, false, 100)
	check("postal_code", a.PostalCode, false, 20)
	check("phone", a.Phone, false, 30)
	if len(a.Country) != 2 || !isUpperASCII(a.Country) {
		out = append(out, engine.FieldError{Field: "shipping_address.country", Message: "must be an ISO 3166-1 alpha-2 code, such as DE"})
	}
	return out
}

// normalized returns a with its fields trimmed and the country upper-case.
func (a Address) normalized() Address {
	t := strings.TrimSpace
	return Address{Name: t(a.Name), Line1: t(a.Line1), Line2: t(a.Line2), City: t(a.City), Region: t(a.Region),
		PostalCode: t(a.PostalCode), Country: strings.ToUpper(t(a.Country)), Phone: t(a.Phone)}
}

func isUpperASCII(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func httpsURL(s string) bool {
	if len(s) > 2000 || strings.ContainsFunc(s, unicode.IsSpace) || !printable(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// cursor is a position in a list newest first, for keyset pagination.
type cursor struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor made by encode; "" is the first page.
func decodeCursor(s string) (*cursor, *engine.FieldError) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == uuid.Nil {
		return nil, &engine.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"}
	}
	return &c, nil
}

// checkLimit defaults a page size of 0 to 50 and reports one outside 1..100.
func checkLimit(limit *int) *engine.FieldError {
	if *limit == 0 {
		*limit = 50
	}
	if *limit < 1 || *limit > 100 {
		return &engine.FieldError{Field: "limit", Message: "must be between 1 and 100"}
	}
	return nil
}
