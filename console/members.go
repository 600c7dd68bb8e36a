package console

import (
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/identity"
)

// membersView is the members list.
type membersView struct {
	Members []identity.User
	// The filters: role ("" for all), banned ("", "yes" or "no") and the
	// start of an email or name.
	Role   string
	Banned string
	Query  string
	Cursor string // the cursor this page starts at
	Next   string // the next page's cursor, "" on the last
	Error  string // a problem with the filters
}

// memberView is a member's page with the forms that change them.
type memberView struct {
	Member identity.User
	Self   bool // the viewer's own account
	// CanManage is whether the viewer may change this member's role and
	// ban them; Roles are the roles they may give.
	CanManage bool
	Roles     []string
	// CanWallets is whether the viewer may open the member's wallet.
	CanWallets bool
	Notice     string
	RoleError  string
	BanError   string
	Reason     string
}

func (c *console) listMembers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := membersView{Role: q.Get("role"), Banned: q.Get("banned"), Query: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor")}
	p := identity.ListMembersParams{Role: v.Role, Query: v.Query, Cursor: v.Cursor, Limit: min(c.pageSize, 100)}
	var ok bool
	if p.Banned, ok = parseYesNo(v.Banned); !ok {
		v.Error = "The filter is not valid: banned must be yes or no."
		c.render(w, r, http.StatusBadRequest, membersPage(c.chrome(r, "Members", "members"), v))
		return
	}
	page, err := c.identity.ListMembers(r.Context(), p)
	status := http.StatusOK
	switch engine.ErrorCode(err) {
	case "":
		v.Members, v.Next = page.Members, page.Next
	case engine.CodeInvalid:
		v.Error = "The filter is not valid: " + problems(err) + "."
		status = http.StatusBadRequest
	default:
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, membersPage(c.chrome(r, "Members", "members"), v))
}

// memberNotices are the confirmations a member's page shows after a
// change (?done=…).
var memberNotices = map[string]string{
	"role":     "Role changed.",
	"banned":   "Member banned. Their sessions have ended.",
	"unbanned": "Ban lifted.",
}

func (c *console) showMember(w http.ResponseWriter, r *http.Request) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	c.memberPage(w, r, id, http.StatusOK, func(v *memberView) { v.Notice = memberNotices[r.URL.Query().Get("done")] })
}

// memberPage renders the member's current state with status; edit adds
// what the request has to say (a notice, a form's problem).
func (c *console) memberPage(w http.ResponseWriter, r *http.Request, id uuid.UUID, status int, edit func(*memberView)) {
	u, err := c.identity.Member(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	s, _ := sessionFrom(r.Context())
	v := memberView{
		Member:     u,
		Self:       s.Principal.Kind == engine.PrincipalUser && s.Principal.UserID == u.ID,
		CanManage:  c.authz.Can(s.Principal, "members:manage") && mayManage(s.Principal, u.Role),
		Roles:      grantable(s.Principal),
		CanWallets: c.authz.Can(s.Principal, "wallets:read"),
	}
	edit(&v)
	c.render(w, r, status, memberPage(c.chrome(r, u.Email, "members"), v))
}

func (c *console) changeRole(w http.ResponseWriter, r *http.Request) {
	c.memberChange(w, r, "role", func(id uuid.UUID) error {
		_, err := c.identity.ChangeRole(r.Context(), id, r.PostForm.Get("role"))
		return err
	})
}

func (c *console) banMember(w http.ResponseWriter, r *http.Request) {
	c.memberChange(w, r, "banned", func(id uuid.UUID) error {
		_, err := c.identity.Ban(r.Context(), id, r.PostForm.Get("reason"))
		return err
	})
}

func (c *console) unbanMember(w http.ResponseWriter, r *http.Request) {
	c.memberChange(w, r, "unbanned", func(id uuid.UUID) error {
		_, err := c.identity.Unban(r.Context(), id)
		return err
	})
}

// memberChange runs one change of a member: success goes back to their
// page with a notice; a refusal (forbidden, the last owner, a bad role)
// shows the page again with the reason by the form, and the status.
func (c *console) memberChange(w http.ResponseWriter, r *http.Request, done string, change func(uuid.UUID) error) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	err := change(id)
	code := engine.ErrorCode(err)
	switch code {
	case "":
		redirect(w, r, memberURL(consoleBase(r.Context()), id)+"?done="+done)
	case engine.CodeForbidden, engine.CodeConflict, engine.CodeInvalid:
		msg := engine.ErrorMessage(err)
		if code == engine.CodeInvalid {
			_, msg = formProblems(err, map[string]string{"role": "Role"})
		}
		c.memberPage(w, r, id, api.StatusFor(code), func(v *memberView) {
			if done == "role" {
				v.RoleError = msg
			} else {
				v.BanError = msg
				v.Reason = r.PostForm.Get("reason")
			}
		})
	default:
		c.fail(w, r, err)
	}
}

// memberURL is a member's page.
func memberURL(base string, id uuid.UUID) string { return base + "/members/" + id.String() }

// membersURL is a page of the members list with the filters of v.
func membersURL(base string, v membersView, cursor string) string {
	return pageURL(base+"/members", map[string]string{"role": v.Role, "banned": v.Banned, "q": v.Query, "cursor": cursor})
}

// roles are the choices of the role filter.
var roles = authz.Roles
