package inbox

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/db"
)

// LivePath is the API's live notification stream. Huma cannot describe a
// WebSocket, so it is mounted on the API's mux (LiveHandler) and described
// in the Notifications tag of the OpenAPI document and in
// docs/notifications.md.
const LivePath = api.Prefix + "/notifications/live"

// Authenticator verifies a bearer token presented to the tenant in ctx
// (identity.Service does).
type Authenticator interface {
	AuthenticateBearer(ctx context.Context, token string) (engine.Principal, error)
}

// ErrMembersOnly answers a live connection with a credential that is not a
// member's access token (an API key, the platform token).
var ErrMembersOnly = &engine.Error{Code: engine.CodeForbidden, Message: "Only a member's access token can open the live notification stream."}

// LiveHandler serves GET LivePath: it authenticates the request with a
// member's access token — the Authorization: Bearer header, or the
// access_token query parameter, since browsers cannot set headers on a
// WebSocket — for the tenant of the request (engine.TenantFrom), and hands
// it to h.Serve. Failures are answered before any upgrade, as problems:
// 404 without a tenant, 401 without a valid token (or with one of another
// tenant), 403 for a banned member or a credential that is not a member's.
// The connection lives on past the token's expiry, as long as the session
// it belongs to (with HubConfig.Sessions: closed within a heartbeat of a
// sign-out, a revocation or a ban); a new connection needs a current token.
func LiveHandler(h *Hub, auth Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.SetRoute(r.Context(), "notifications-live")
		tenant, ok := engine.TenantFrom(r.Context())
		if !ok {
			api.WriteProblem(w, r, 0, db.ErrNoTenant)
			return
		}
		token := bearerToken(r)
		if token == "" {
			unauthorized(w, r, ErrSignedOut)
			return
		}
		p, err := auth.AuthenticateBearer(r.Context(), token)
		if err != nil {
			if engine.ErrorCode(err) == engine.CodeUnauthenticated {
				unauthorized(w, r, err)
				return
			}
			api.WriteProblem(w, r, 0, err)
			return
		}
		if p.Kind != engine.PrincipalUser || p.UserID == uuid.Nil || p.TenantID != tenant {
			api.WriteProblem(w, r, 0, ErrMembersOnly)
			return
		}
		h.Serve(w, r, tenant, p.UserID, p.SessionID)
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header, or
// else of the access_token query parameter.
func bearerToken(r *http.Request) string {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return r.URL.Query().Get("access_token")
}

func unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="guildhall"`)
	api.WriteProblem(w, r, 0, err)
}
