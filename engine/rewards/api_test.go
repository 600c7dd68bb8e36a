package rewards_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2/humatest"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/rewards"
)

// principals stands in for the identity service at the Authenticator
// seam: each token is a principal of the test tenant.
type principals map[string]engine.Principal

func (p principals) AuthenticateBearer(_ context.Context, token string) (engine.Principal, error) {
	if pr, ok := p[token]; ok {
		return pr, nil
	}
	return engine.Principal{}, engine.Errorf(engine.CodeUnauthenticated, "Sign in to do this.")
}

type scenario struct {
	name   string
	token  string
	method string
	path   string
	body   any
	status int
	check  func(t *testing.T, body map[string]any, header http.Header)
}

// errorFields returns a problem's errors as "location: message" (huma
// names a missing property in the message, at the location of its parent).
func errorFields(body map[string]any) []string {
	var out []string
	errs, _ := body["errors"].([]any)
	for _, e := range errs {
		if m, ok := e.(map[string]any); ok {
			loc, _ := m["location"].(string)
			msg, _ := m["message"].(string)
			out = append(out, loc+": "+msg)
		}
	}
	return out
}

func wantFields(want ...string) func(*testing.T, map[string]any, http.Header) {
	return func(t *testing.T, body map[string]any, _ http.Header) {
		t.Helper()
		got := errorFields(body)
		for _, w := range want {
			found := false
			for _, g := range got {
				if strings.Contains(g, w) {
					found = true
				}
			}
			if !found {
				t.Errorf("errors %v lack %q", got, w)
			}
		}
	}
}

func wantCode(code engine.Code) func(*testing.T, map[string]any, http.Header) {
	return func(t *testing.T, body map[string]any, _ http.Header) {
		t.Helper()
		if body["code"] != string(code) {
			t.Errorf("code = %v, want %s", body["code"], code)
		}
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	tenant, _ := engine.TenantFrom(b.ctx)
	admin := b.staff(t, "admin@example.com", "admin")
	moderator := b.staff(t, "mod@example.com", "moderator")
	user := func(id uuid.UUID, role string) engine.Principal {
		return engine.Principal{Kind: engine.PrincipalUser, TenantID: tenant, UserID: id, Role: role, Name: "user:" + id.String()}
	}
	toks := principals{
		"admin": user(admin, "admin"), "moderator": user(moderator, "moderator"),
		"m0": user(b.members[0], "member"), "m1": user(b.members[1], "member"),
		"key": {Kind: engine.PrincipalAPIKey, TenantID: tenant, APIKeyID: uuid.Must(uuid.NewV7()), Scopes: []string{"rewards:write"}, Name: "api_key:test"},
	}
	az, err := authz.New()
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Config{Title: "Test", Version: "1", Auth: toks, Authz: az})
	rewards.RegisterAPI(a, b.rewards)
	ta := humatest.Wrap(t, a)

	b.fund(t, b.members[0], 1000)
	digital := b.create(t, rewards.RewardParams{Name: "E-book", Kind: rewards.KindDigital, Price: 100, Stock: ptr(10)})
	physical := b.create(t, rewards.RewardParams{Name: "Shirt", Kind: rewards.KindPhysical, Price: 200})
	pricey := b.create(t, rewards.RewardParams{Name: "Bike", Kind: rewards.KindDigital, Price: 5000})
	coupon := b.create(t, rewards.RewardParams{Name: "Voucher", Kind: rewards.KindCoupon, Price: 10})
	pending := b.redeemWithAddress(t, physical.ID, b.members[0])
	toCancel := b.redeemWithAddress(t, physical.ID, b.members[0])
	redeemKey := key()
	p := api.Prefix

	scenarios := []scenario{
		// Staff: the catalog.
		{name: "CreateReward", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: map[string]any{"name": "Sticker", "kind": "physical", "price": 15, "stock": 100}, status: http.StatusCreated,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["name"] != "Sticker" || body["active"] != true || body["stock"] != float64(100) {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "CreateRewardByAPIKey", token: "key", method: http.MethodPost, path: p + "/rewards",
			body: map[string]any{"name": "Key item", "kind": "digital", "price": 1}, status: http.StatusCreated},
		{name: "CreateRewardByModerator", token: "moderator", method: http.MethodPost, path: p + "/rewards",
			body: map[string]any{"name": "x", "kind": "digital", "price": 1}, status: http.StatusForbidden},
		{name: "CreateRewardByMember", token: "m0", method: http.MethodPost, path: p + "/rewards",
			body: map[string]any{"name": "x", "kind": "digital", "price": 1}, status: http.StatusForbidden},
		{name: "CreateRewardSignedOut", method: http.MethodPost, path: p + "/rewards",
			body: map[string]any{"name": "x", "kind": "digital", "price": 1}, status: http.StatusUnauthorized},
		{name: "FractionalPrice", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: `{"name": "x", "kind": "digital", "price": 1.5}`, status: http.StatusUnprocessableEntity, check: wantFields("price")},
		{name: "HugePrice", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: `{"name": "x", "kind": "digital", "price": 1e30}`, status: http.StatusUnprocessableEntity, check: wantFields("price")},
		{name: "OverflowingPrice", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: `{"name": "x", "kind": "digital", "price": 9223372036854775808}`, status: http.StatusUnprocessableEntity, check: wantFields("price")},
		{name: "ZeroPrice", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: map[string]any{"name": "x", "kind": "digital", "price": 0}, status: http.StatusUnprocessableEntity, check: wantFields("price")},
		{name: "NegativePrice", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: map[string]any{"name": "x", "kind": "digital", "price": -10}, status: http.StatusUnprocessableEntity, check: wantFields("price")},
		{name: "PriceAsString", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: `{"name": "x", "kind": "digital", "price": "10"}`, status: http.StatusUnprocessableEntity, check: wantFields("price")},
		{name: "EveryProblemListed", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: map[string]any{"kind": "toy", "stock": -1}, status: http.StatusUnprocessableEntity, check: wantFields("name", "kind", "price", "stock")},
		{name: "ServiceValidation", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body:   map[string]any{"name": "  ", "kind": "digital", "price": 5, "image_url": "http://insecure.example/a.png"},
			status: http.StatusUnprocessableEntity, check: wantFields("body.name", "body.image_url")},
		{name: "MalformedJSON", token: "admin", method: http.MethodPost, path: p + "/rewards",
			body: `{"name": `, status: http.StatusBadRequest},
		{name: "GetReward", token: "admin", method: http.MethodGet, path: p + "/rewards/" + digital.ID.String(), status: http.StatusOK},
		{name: "GetUnknownReward", token: "admin", method: http.MethodGet, path: p + "/rewards/" + uuid.Must(uuid.NewV7()).String(),
			status: http.StatusNotFound, check: wantCode(engine.CodeNotFound)},
		{name: "GetRewardBadID", token: "admin", method: http.MethodGet, path: p + "/rewards/nope", status: http.StatusUnprocessableEntity},
		{name: "UpdateReward", token: "admin", method: http.MethodPut, path: p + "/rewards/" + digital.ID.String(),
			body: map[string]any{"name": "E-book, 2nd ed.", "price": 100, "stock": 10}, status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["name"] != "E-book, 2nd ed." || body["kind"] != "digital" {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "UpdateRewardKind", token: "admin", method: http.MethodPut, path: p + "/rewards/" + digital.ID.String(),
			body: map[string]any{"name": "E-book", "price": 100, "kind": "physical"}, status: http.StatusUnprocessableEntity, check: wantFields("kind")},
		{name: "UploadCodes", token: "admin", method: http.MethodPost, path: p + "/rewards/" + coupon.ID.String() + "/codes",
			body: map[string]any{"codes": []string{"X1", "X2", "X1"}}, status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["added"] != float64(2) || body["duplicates"] != float64(1) || body["available"] != float64(2) {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "UploadCodesToDigital", token: "admin", method: http.MethodPost, path: p + "/rewards/" + digital.ID.String() + "/codes",
			body: map[string]any{"codes": []string{"X1"}}, status: http.StatusUnprocessableEntity},
		{name: "UploadNoCodes", token: "admin", method: http.MethodPost, path: p + "/rewards/" + coupon.ID.String() + "/codes",
			body: map[string]any{"codes": []string{}}, status: http.StatusUnprocessableEntity},
		{name: "ListRewards", token: "admin", method: http.MethodGet, path: p + "/rewards?kind=coupon", status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if rs, _ := body["rewards"].([]any); len(rs) != 1 {
					t.Errorf("rewards = %v, want the coupon", body["rewards"])
				}
			}},
		{name: "ListRewardsBadCursor", token: "admin", method: http.MethodGet, path: p + "/rewards?cursor=nope", status: http.StatusUnprocessableEntity},

		// Members: the catalog and redemptions.
		{name: "ListCatalog", token: "m0", method: http.MethodGet, path: p + "/catalog", status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if items, _ := body["items"].([]any); len(items) < 4 {
					t.Errorf("items = %v", body["items"])
				}
			}},
		{name: "ListCatalogByAPIKey", token: "key", method: http.MethodGet, path: p + "/catalog", status: http.StatusForbidden},
		{name: "Redeem", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": coupon.ID, "idempotency_key": redeemKey}, status: http.StatusCreated,
			check: func(t *testing.T, body map[string]any, h http.Header) {
				if body["status"] != "fulfilled" || body["code"] != "X1" || h.Get("Idempotent-Replayed") != "" {
					t.Errorf("body = %v, replayed %q", body, h.Get("Idempotent-Replayed"))
				}
			}},
		{name: "RedeemReplayed", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": coupon.ID, "idempotency_key": redeemKey}, status: http.StatusCreated,
			check: func(t *testing.T, body map[string]any, h http.Header) {
				if body["code"] != "X1" || h.Get("Idempotent-Replayed") != "true" {
					t.Errorf("body = %v, replayed %q", body, h.Get("Idempotent-Replayed"))
				}
			}},
		{name: "RedeemKeyReused", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": digital.ID, "idempotency_key": redeemKey}, status: http.StatusUnprocessableEntity,
			check: wantFields("idempotency_key")},
		{name: "RedeemUnknownReward", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": uuid.Must(uuid.NewV7()), "idempotency_key": key()}, status: http.StatusUnprocessableEntity,
			check: wantFields("reward_id")},
		{name: "RedeemBadRewardID", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": "nope", "idempotency_key": key()}, status: http.StatusUnprocessableEntity},
		{name: "RedeemNoKey", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": digital.ID}, status: http.StatusUnprocessableEntity, check: wantFields("idempotency_key")},
		{name: "RedeemMissingAddress", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": physical.ID, "idempotency_key": key()}, status: http.StatusUnprocessableEntity,
			check: wantFields("shipping_address")},
		{name: "RedeemIncompleteAddress", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body:   map[string]any{"reward_id": physical.ID, "idempotency_key": key(), "shipping_address": map[string]any{"name": "A", "country": "DE"}},
			status: http.StatusUnprocessableEntity, check: wantFields("line1", "city")},
		{name: "RedeemPhysical", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": physical.ID, "idempotency_key": key(), "shipping_address": address}, status: http.StatusCreated,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["status"] != "pending" || body["shipping_address"] == nil {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "RedeemInsufficientFunds", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": pricey.ID, "idempotency_key": key()}, status: http.StatusConflict, check: wantCode(engine.CodeConflict)},
		{name: "RedeemByAPIKey", token: "key", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": digital.ID, "idempotency_key": key()}, status: http.StatusForbidden},
		{name: "ListMyOrders", token: "m0", method: http.MethodGet, path: p + "/me/orders", status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if os, _ := body["orders"].([]any); len(os) != 4 {
					t.Errorf("orders = %d, want 4", len(os))
				}
			}},
		{name: "ListOthersOrders", token: "m1", method: http.MethodGet, path: p + "/me/orders", status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if os, _ := body["orders"].([]any); len(os) != 0 {
					t.Errorf("orders = %d, want 0", len(os))
				}
			}},
		{name: "GetMyOrder", token: "m0", method: http.MethodGet, path: p + "/me/orders/" + pending.ID.String(), status: http.StatusOK},
		{name: "GetSomeoneElsesOrder", token: "m1", method: http.MethodGet, path: p + "/me/orders/" + pending.ID.String(), status: http.StatusNotFound},

		// Staff: orders.
		{name: "ListOrdersByMember", token: "m0", method: http.MethodGet, path: p + "/orders", status: http.StatusForbidden},
		{name: "ListPendingOrders", token: "moderator", method: http.MethodGet, path: p + "/orders?status=pending&member_id=" + b.members[0].String(),
			status: http.StatusOK, check: func(t *testing.T, body map[string]any, _ http.Header) {
				if os, _ := body["orders"].([]any); len(os) != 3 {
					t.Errorf("orders = %d, want 3", len(os))
				}
			}},
		{name: "ListOrdersBadStatus", token: "moderator", method: http.MethodGet, path: p + "/orders?status=lost", status: http.StatusUnprocessableEntity},
		{name: "FulfilOrder", token: "moderator", method: http.MethodPost, path: p + "/orders/" + pending.ID.String() + "/fulfil",
			body: map[string]any{"note": "DHL 123"}, status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["status"] != "fulfilled" || body["note"] != "DHL 123" || body["handled_by"] != "user:"+moderator.String() {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "GetMyFulfilledOrder", token: "m0", method: http.MethodGet, path: p + "/me/orders/" + pending.ID.String(), status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["status"] != "fulfilled" || body["note"] != "DHL 123" || body["handled_by"] != nil {
					t.Errorf("body = %v, want the note and not who handled it", body)
				}
			}},
		{name: "FulfilAgain", token: "moderator", method: http.MethodPost, path: p + "/orders/" + pending.ID.String() + "/fulfil",
			body: map[string]any{}, status: http.StatusConflict},
		{name: "RejectFulfilled", token: "admin", method: http.MethodPost, path: p + "/orders/" + pending.ID.String() + "/reject",
			body: map[string]any{"reason": "late", "idempotency_key": key()}, status: http.StatusConflict},
		{name: "CancelWithoutReason", token: "moderator", method: http.MethodPost, path: p + "/orders/" + toCancel.ID.String() + "/cancel",
			body: map[string]any{"idempotency_key": key()}, status: http.StatusUnprocessableEntity, check: wantFields("reason")},
		{name: "CancelOrder", token: "moderator", method: http.MethodPost, path: p + "/orders/" + toCancel.ID.String() + "/cancel",
			body: map[string]any{"reason": "Sold out", "idempotency_key": key()}, status: http.StatusOK,
			check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["status"] != "cancelled" || body["refund_id"] == nil {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "CancelUnknownOrder", token: "moderator", method: http.MethodPost, path: p + "/orders/" + uuid.Must(uuid.NewV7()).String() + "/cancel",
			body: map[string]any{"reason": "x", "idempotency_key": key()}, status: http.StatusNotFound},
		{name: "DeactivateReward", token: "admin", method: http.MethodPost, path: p + "/rewards/" + coupon.ID.String() + "/deactivate",
			status: http.StatusOK, check: func(t *testing.T, body map[string]any, _ http.Header) {
				if body["active"] != false {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "RedeemDeactivated", token: "m0", method: http.MethodPost, path: p + "/me/orders",
			body: map[string]any{"reward_id": coupon.ID, "idempotency_key": key()}, status: http.StatusConflict},
	}
	for _, sc := range scenarios {
		args := []any{}
		if sc.token != "" {
			args = append(args, "Authorization: Bearer "+sc.token)
		}
		switch body := sc.body.(type) {
		case nil:
		case string:
			args = append(args, "Content-Type: application/json", strings.NewReader(body))
		default:
			args = append(args, body)
		}
		resp := ta.DoCtx(b.ctx, sc.method, sc.path, args...)
		if resp.Code >= 500 {
			t.Errorf("%s: %d, a 5xx: %s", sc.name, resp.Code, resp.Body.String())
			continue
		}
		if resp.Code != sc.status {
			t.Errorf("%s: status %d, want %d: %s", sc.name, resp.Code, sc.status, resp.Body.String())
			continue
		}
		var body map[string]any
		if resp.Body.Len() > 0 {
			if err := json.Unmarshal(resp.Body.Bytes(), &body); err != nil {
				t.Errorf("%s: body %q: %v", sc.name, resp.Body.String(), err)
				continue
			}
		}
		if sc.check != nil {
			t.Run(sc.name, func(t *testing.T) { sc.check(t, body, resp.Header()) })
		}
	}
	if bal := b.balance(t, b.members[0]); bal != 1000-200-200-10-200+200 {
		t.Errorf("balance = %d, want %d", bal, 1000-200-200-10-200+200)
	}
	b.verify(t)
}

// staff seeds a user with a staff role.
func (b testBundle) staff(t testing.TB, email, role string) uuid.UUID {
	t.Helper()
	u, _, err := b.ids.Service.SeedUser(b.ctx, identity.SeedUserParams{Email: email, DisplayName: "Staff", Password: "correct horse battery", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
