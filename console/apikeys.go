package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/identity"
)

// apiKeysView is the API keys page: the create form, the token of the key
// just made (shown this once) and every key, revoked ones too.
type apiKeysView struct {
	Keys      []identity.APIKey
	Scopes    []string // every scope a key may have
	Name      string
	Chosen    []string // the scopes ticked
	ExpiresOn string   // YYYY-MM-DD as typed
	Errors    map[string]string
	Error     string
	Created   *identity.CreatedAPIKey
	Notice    string
	Now       time.Time // for telling expired keys
}

var apiKeyLabels = map[string]string{"name": "Name", "scopes": "Scopes", "expires_at": "Expiry date"}

func (c *console) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	v := apiKeysView{Scopes: c.authz.ScopePermissions()}
	if r.URL.Query().Get("done") == "revoked" {
		v.Notice = "Key revoked. It stops working within a second."
	}
	c.apiKeysPage(w, r, http.StatusOK, v)
}

func (c *console) apiKeysPage(w http.ResponseWriter, r *http.Request, status int, v apiKeysView) {
	keys, err := c.identity.ListAPIKeys(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Keys, v.Now = keys, c.now()
	c.renderPage(w, r, status, apiKeysPage(c.chrome(r, "API keys", "api-keys"), v))
}

func (c *console) createAPIKey(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	v := apiKeysView{
		Scopes: c.authz.ScopePermissions(), Name: r.PostForm.Get("name"),
		Chosen: r.PostForm["scopes"], ExpiresOn: strings.TrimSpace(r.PostForm.Get("expires_at")),
	}
	p := identity.CreateAPIKeyParams{Name: v.Name, Scopes: v.Chosen}
	if v.ExpiresOn != "" {
		day, err := time.Parse(time.DateOnly, v.ExpiresOn)
		if err != nil {
			v.Errors = map[string]string{"expires_at": "Expiry date must be a date such as 2030-12-31."}
			v.Error = v.Errors["expires_at"]
			c.apiKeysPage(w, r, http.StatusUnprocessableEntity, v)
			return
		}
		// The key works through the whole day it expires on (UTC).
		end := day.AddDate(0, 0, 1)
		p.ExpiresAt = &end
	}
	k, err := c.identity.CreateAPIKey(r.Context(), p)
	switch engine.ErrorCode(err) {
	case "":
		v = apiKeysView{Scopes: v.Scopes, Created: &k}
		c.apiKeysPage(w, r, http.StatusOK, v)
	case engine.CodeInvalid:
		v.Errors, v.Error = formProblems(err, apiKeyLabels)
		c.apiKeysPage(w, r, http.StatusUnprocessableEntity, v)
	default:
		c.fail(w, r, err)
	}
}

func (c *console) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if _, err := c.identity.RevokeAPIKey(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, consoleBase(r.Context())+"/api-keys?done=revoked")
}

// ticked reports whether scope is among the chosen ones.
func (v apiKeysView) ticked(scope string) bool { return slices.Contains(v.Chosen, scope) }

// status says whether k works: "active", "expired" or "revoked".
func (v apiKeysView) status(k identity.APIKey) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !k.ExpiresAt.After(v.Now):
		return "expired"
	default:
		return "active"
	}
}
