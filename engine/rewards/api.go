package rewards

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
)

// Permissions of the rewards operations (see engine/authz/policy.csv).
const (
	PermissionCatalog = "rewards:write" // admins: manage the catalog and coupon codes
	PermissionOrders  = "orders:manage" // moderators and up: fulfil, cancel, reject
)

// RewardFields are the fields staff set on a reward.
type RewardFields struct {
	Name           string     `json:"name" minLength:"1" maxLength:"100"`
	Description    string     `json:"description,omitempty" maxLength:"2000"`
	ImageURL       string     `json:"image_url,omitempty" maxLength:"2000" doc:"An https URL, or empty."`
	Price          int64      `json:"price" minimum:"1" maximum:"1000000000" doc:"Coins, a whole number."`
	Stock          *int       `json:"stock,omitempty" minimum:"0" maximum:"1000000000" doc:"Items left; absent: unlimited."`
	PerMemberLimit *int       `json:"per_member_limit,omitempty" minimum:"1" maximum:"1000000" doc:"Live (pending or fulfilled) orders one member may hold; absent: no limit."`
	AvailableFrom  *time.Time `json:"available_from,omitempty" doc:"Listed and redeemable from then; absent: now."`
	AvailableUntil *time.Time `json:"available_until,omitempty" doc:"Until then; absent: no end."`
	Active         *bool      `json:"active,omitempty" doc:"Listed in the catalog. Default: true on create, unchanged on update."`
}

func (f RewardFields) params(kind string) RewardParams {
	return RewardParams{Name: f.Name, Description: f.Description, ImageURL: f.ImageURL, Kind: kind, Price: f.Price, Stock: f.Stock,
		PerMemberLimit: f.PerMemberLimit, AvailableFrom: f.AvailableFrom, AvailableUntil: f.AvailableUntil, Active: f.Active}
}

// CreateRewardBody creates a reward.
type CreateRewardBody struct {
	RewardFields
	Kind string `json:"kind" enum:"physical,coupon,digital" doc:"physical: shipped to the member's address; coupon: a code from the uploaded pool; digital: nothing to ship (fulfilled at once)."`
}

// UpdateRewardBody replaces a reward's fields.
type UpdateRewardBody struct {
	RewardFields
	Kind string `json:"kind,omitempty" enum:"physical,coupon,digital" doc:"Cannot change; when given, must be the reward's kind."`
}

// RedeemBody redeems a reward.
type RedeemBody struct {
	RewardID        uuid.UUID `json:"reward_id" doc:"A reward of the catalog (list-catalog)."`
	ShippingAddress *Address  `json:"shipping_address,omitempty" doc:"Required for physical rewards; ignored for others."`
	IdempotencyKey  string    `json:"idempotency_key" minLength:"1" maxLength:"200" doc:"Retrying with the same key returns the first order and spends nothing more; use a UUIDv7."`
}

// RefundBody cancels or rejects an order.
type RefundBody struct {
	Reason         string `json:"reason" minLength:"1" maxLength:"1000" doc:"Shown to the member and kept in the audit log."`
	IdempotencyKey string `json:"idempotency_key" minLength:"1" maxLength:"200" doc:"A retry with the same key answers the same order and refunds nothing more."`
}

type idPath struct {
	ID uuid.UUID `path:"id" format:"uuid"`
}

type rewardOutput struct{ Body Reward }

type orderOutput struct{ Body Order }

// RedeemOutput is the order a redemption placed.
type RedeemOutput struct {
	Replayed string `header:"Idempotent-Replayed" doc:"true when the key was seen before and this is the first order again."`
	Body     Order
}

// ListRewardsOutput is a page of the catalog for staff.
type ListRewardsOutput struct {
	Body struct {
		Rewards []Reward `json:"rewards"`
		Next    string   `json:"next,omitempty" doc:"The cursor of the next page; absent on the last."`
	}
}

// ListCatalogOutput is a page of the member catalog.
type ListCatalogOutput struct {
	Body struct {
		Items []CatalogItem `json:"items"`
		Next  string        `json:"next,omitempty" doc:"The cursor of the next page; absent on the last."`
	}
}

// ListOrdersOutput is a page of orders.
type ListOrdersOutput struct {
	Body struct {
		Orders []Order `json:"orders"`
		Next   string  `json:"next,omitempty" doc:"The cursor of the next page; absent on the last."`
	}
}

func listOrdersOutput(p OrderPage) *ListOrdersOutput {
	out := &ListOrdersOutput{}
	out.Body.Orders, out.Body.Next = p.Orders, p.Next
	if out.Body.Orders == nil {
		out.Body.Orders = []Order{}
	}
	return out
}

// forMember leaves out what only staff see.
func forMember(o Order) Order {
	o.HandledBy = ""
	return o
}

// self returns the signed-in member calling a Self operation.
func self(ctx context.Context) (uuid.UUID, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || p.Kind != engine.PrincipalUser || p.UserID == uuid.Nil {
		return uuid.Nil, engine.Errorf(engine.CodeUnauthenticated, "Sign in to do this.")
	}
	return p.UserID, nil
}

func optionalID(field, s string) (*uuid.UUID, error) {
	if s == "" {
		return nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return nil, engine.Invalid([]engine.FieldError{{Field: field, Message: "is not a UUID"}})
	}
	return &id, nil
}

// RegisterAPI registers the catalog, redemption and order operations.
func RegisterAPI(a huma.API, s *Service) {
	registerCatalogAPI(a, s)
	registerMemberAPI(a, s)
	registerOrdersAPI(a, s)
}

// registerCatalogAPI registers staff's catalog operations.
func registerCatalogAPI(a huma.API, s *Service) {
	tags := []string{"Rewards"}
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-rewards", Method: http.MethodGet, Path: api.Prefix + "/rewards", Tags: tags,
		Summary: "List the rewards", Description: "The whole catalog, active or not, newest first, with the coupon codes left.",
	}, api.Permission(PermissionCatalog)), func(ctx context.Context, in *struct {
		Active string `query:"active" enum:"true,false" doc:"Only active (true) or inactive (false) rewards."`
		Kind   string `query:"kind" enum:"physical,coupon,digital"`
		Q      string `query:"q" maxLength:"100" doc:"Part of the name, any case."`
		Cursor string `query:"cursor" maxLength:"200"`
		Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	}) (*ListRewardsOutput, error) {
		p := ListRewardsParams{Kind: in.Kind, Query: in.Q, Cursor: in.Cursor, Limit: in.Limit}
		if in.Active != "" {
			active := in.Active == "true"
			p.Active = &active
		}
		page, err := s.ListRewards(ctx, p)
		if err != nil {
			return nil, err
		}
		out := &ListRewardsOutput{}
		out.Body.Rewards, out.Body.Next = page.Rewards, page.Next
		if out.Body.Rewards == nil {
			out.Body.Rewards = []Reward{}
		}
		return out, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "create-reward", Method: http.MethodPost, Path: api.Prefix + "/rewards", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary:     "Create a reward",
		Description: "Adds an item to the catalog. A coupon reward needs codes (upload-reward-codes) before members can redeem it. Audited.",
	}, api.Permission(PermissionCatalog)), func(ctx context.Context, in *struct{ Body CreateRewardBody }) (*rewardOutput, error) {
		r, err := s.CreateReward(ctx, in.Body.params(in.Body.Kind))
		if err != nil {
			return nil, err
		}
		return &rewardOutput{Body: r}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-reward", Method: http.MethodGet, Path: api.Prefix + "/rewards/{id}", Tags: tags,
		Summary: "Get a reward",
	}, api.Permission(PermissionCatalog)), func(ctx context.Context, in *idPath) (*rewardOutput, error) {
		r, err := s.Reward(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &rewardOutput{Body: r}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "update-reward", Method: http.MethodPut, Path: api.Prefix + "/rewards/{id}", Tags: tags,
		Summary: "Replace a reward's fields",
		Description: "Every field is replaced: an absent stock means unlimited, an absent per-member limit means none. " +
			"The kind cannot change. Orders already placed keep their price. Audited with the reward as it was.",
	}, api.Permission(PermissionCatalog)), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body UpdateRewardBody
	}) (*rewardOutput, error) {
		r, err := s.UpdateReward(ctx, in.ID, in.Body.params(in.Body.Kind))
		if err != nil {
			return nil, err
		}
		return &rewardOutput{Body: r}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "deactivate-reward", Method: http.MethodPost, Path: api.Prefix + "/rewards/{id}/deactivate", Tags: tags,
		Summary:     "Deactivate a reward",
		Description: "Takes it out of the catalog; its orders are unaffected. Rewards are never deleted (orders refer to them); update-reward with active true brings one back. Audited.",
	}, api.Permission(PermissionCatalog)), func(ctx context.Context, in *idPath) (*rewardOutput, error) {
		r, err := s.DeactivateReward(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &rewardOutput{Body: r}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "upload-reward-codes", Method: http.MethodPost, Path: api.Prefix + "/rewards/{id}/codes", Tags: tags,
		Summary: "Upload coupon codes",
		Description: "Adds codes to a coupon reward's pool; each order takes one. Codes already in the pool or repeated in the list are skipped, " +
			"so uploading the same list twice adds nothing. Audited (the count, never the codes).",
	}, api.Permission(PermissionCatalog)), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body struct {
			Codes []string `json:"codes" minItems:"1" maxItems:"10000" doc:"1 to 200 characters each."`
		}
	}) (*struct{ Body UploadResult }, error) {
		res, err := s.UploadCodes(ctx, in.ID, in.Body.Codes)
		if err != nil {
			return nil, err
		}
		return &struct{ Body UploadResult }{Body: res}, nil
	})
}

// registerMemberAPI registers what members do for themselves.
func registerMemberAPI(a huma.API, s *Service) {
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-catalog", Method: http.MethodGet, Path: api.Prefix + "/catalog", Tags: []string{"Catalog"},
		Summary:     "List the rewards I can redeem",
		Description: "Active rewards inside their availability window, newest first, with the stock left and how many more I may redeem. Sold-out items are listed with redeemable false.",
	}, api.Self), func(ctx context.Context, in *struct {
		Cursor string `query:"cursor" maxLength:"200"`
		Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	}) (*ListCatalogOutput, error) {
		me, err := self(ctx)
		if err != nil {
			return nil, err
		}
		page, err := s.Catalog(ctx, CatalogParams{Member: me, Cursor: in.Cursor, Limit: in.Limit})
		if err != nil {
			return nil, err
		}
		out := &ListCatalogOutput{}
		out.Body.Items, out.Body.Next = page.Items, page.Next
		if out.Body.Items == nil {
			out.Body.Items = []CatalogItem{}
		}
		return out, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-catalog-item", Method: http.MethodGet, Path: api.Prefix + "/catalog/{id}", Tags: []string{"Catalog"},
		Summary: "Get a reward of the catalog", Description: "404 when it is not in the catalog now.",
	}, api.Self), func(ctx context.Context, in *idPath) (*struct{ Body CatalogItem }, error) {
		me, err := self(ctx)
		if err != nil {
			return nil, err
		}
		it, err := s.CatalogItem(ctx, me, in.ID)
		if err != nil {
			return nil, err
		}
		return &struct{ Body CatalogItem }{Body: it}, nil
	})
	tags := []string{"Orders"}
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "redeem-reward", Method: http.MethodPost, Path: api.Prefix + "/me/orders", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary: "Redeem a reward",
		Description: "Spends my coins on a reward and places the order, all or nothing: the reward must be available, in stock and within my limit, " +
			"and my wallet must hold its price and not be frozen (409 otherwise). Digital and coupon orders are fulfilled at once " +
			"(a coupon order carries its code); physical ones wait for staff. The same idempotency key returns the first order; " +
			"with a different request it is a 422.",
	}, api.Self), func(ctx context.Context, in *struct{ Body RedeemBody }) (*RedeemOutput, error) {
		me, err := self(ctx)
		if err != nil {
			return nil, err
		}
		o, replayed, err := s.Redeem(ctx, RedeemParams{Reward: in.Body.RewardID, Member: me, ShippingAddress: in.Body.ShippingAddress,
			IdempotencyKey: in.Body.IdempotencyKey})
		if err != nil {
			return nil, err
		}
		out := &RedeemOutput{Body: forMember(o)}
		if replayed {
			out.Replayed = "true"
		}
		return out, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-my-orders", Method: http.MethodGet, Path: api.Prefix + "/me/orders", Tags: tags,
		Summary: "List my orders", Description: "Newest first.",
	}, api.Self), func(ctx context.Context, in *struct {
		Status string `query:"status" enum:"pending,fulfilled,cancelled,rejected"`
		Cursor string `query:"cursor" maxLength:"200"`
		Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	}) (*ListOrdersOutput, error) {
		me, err := self(ctx)
		if err != nil {
			return nil, err
		}
		page, err := s.ListOrders(ctx, ListOrdersParams{Status: in.Status, Member: &me, Cursor: in.Cursor, Limit: in.Limit})
		if err != nil {
			return nil, err
		}
		for i, o := range page.Orders {
			page.Orders[i] = forMember(o)
		}
		return listOrdersOutput(page), nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-my-order", Method: http.MethodGet, Path: api.Prefix + "/me/orders/{id}", Tags: tags,
		Summary: "Get one of my orders",
	}, api.Self), func(ctx context.Context, in *idPath) (*orderOutput, error) {
		me, err := self(ctx)
		if err != nil {
			return nil, err
		}
		o, err := s.MemberOrder(ctx, me, in.ID)
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: forMember(o)}, nil
	})
}

// registerOrdersAPI registers staff's order operations.
func registerOrdersAPI(a huma.API, s *Service) {
	tags := []string{"Orders"}
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-orders", Method: http.MethodGet, Path: api.Prefix + "/orders", Tags: tags,
		Summary: "List orders", Description: "Every member's orders, newest first; filter by status, member or reward.",
	}, api.Permission(PermissionOrders)), func(ctx context.Context, in *struct {
		Status   string `query:"status" enum:"pending,fulfilled,cancelled,rejected"`
		MemberID string `query:"member_id" format:"uuid"`
		RewardID string `query:"reward_id" format:"uuid"`
		Cursor   string `query:"cursor" maxLength:"200"`
		Limit    int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	}) (*ListOrdersOutput, error) {
		member, err := optionalID("member_id", in.MemberID)
		if err != nil {
			return nil, err
		}
		reward, err := optionalID("reward_id", in.RewardID)
		if err != nil {
			return nil, err
		}
		page, err := s.ListOrders(ctx, ListOrdersParams{Status: in.Status, Member: member, Reward: reward, Cursor: in.Cursor, Limit: in.Limit})
		if err != nil {
			return nil, err
		}
		return listOrdersOutput(page), nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-order", Method: http.MethodGet, Path: api.Prefix + "/orders/{id}", Tags: tags,
		Summary: "Get an order", Description: "With the shipping address and, for coupon orders, the code.",
	}, api.Permission(PermissionOrders)), func(ctx context.Context, in *idPath) (*orderOutput, error) {
		o, err := s.Order(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: o}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "fulfil-order", Method: http.MethodPost, Path: api.Prefix + "/orders/{id}/fulfil", Tags: tags,
		Summary:     "Mark an order fulfilled",
		Description: "For a pending order that was shipped or delivered; the note (a tracking number) is shown to the member. Any other status is a 409. Audited.",
	}, api.Permission(PermissionOrders)), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body struct {
			Note string `json:"note,omitempty" maxLength:"1000" doc:"Shown to the member."`
		}
	}) (*orderOutput, error) {
		o, err := s.Fulfil(ctx, FulfilParams{Order: in.ID, Note: in.Body.Note})
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: o}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "cancel-order", Method: http.MethodPost, Path: api.Prefix + "/orders/{id}/cancel", Tags: tags,
		Summary: "Cancel an order, refunding it",
		Description: "For a pending order that cannot be fulfilled: the coins go back to the member's wallet and the item back into stock, " +
			"in one transaction. Any other status is a 409. Audited.",
	}, api.Permission(PermissionOrders)), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body RefundBody
	}) (*orderOutput, error) {
		o, err := s.Cancel(ctx, RefundParams{Order: in.ID, Reason: in.Body.Reason, IdempotencyKey: in.Body.IdempotencyKey})
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: o}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "reject-order", Method: http.MethodPost, Path: api.Prefix + "/orders/{id}/reject", Tags: tags,
		Summary: "Reject an order, refunding it",
		Description: "For a pending order staff refuse (abuse, an address that cannot be served): the coins go back to the member's wallet " +
			"and the item back into stock, in one transaction. Any other status is a 409. Audited.",
	}, api.Permission(PermissionOrders)), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body RefundBody
	}) (*orderOutput, error) {
		o, err := s.Reject(ctx, RefundParams{Order: in.ID, Reason: in.Body.Reason, IdempotencyKey: in.Body.IdempotencyKey})
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: o}, nil
	})
}
