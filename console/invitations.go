package console

import (
	"net/http"
	"strings"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/identity"
)

// invitationsView is the invitations page: the invite form, the link of
// the invitation just made (shown this once), and the pending ones.
type invitationsView struct {
	Invitations []identity.Invitation
	Roles       []string // the roles the viewer may give
	Email       string
	Role        string
	Errors      map[string]string
	Error       string
	Created     *identity.Invitation
	Notice      string
}

var invitationLabels = map[string]string{"email": "Email", "role": "Role"}

func (c *console) listInvitations(w http.ResponseWriter, r *http.Request) {
	v := c.invitationsView(r)
	if r.URL.Query().Get("done") == "revoked" {
		v.Notice = "Invitation revoked."
	}
	c.invitationsPage(w, r, http.StatusOK, v)
}

func (c *console) invitationsView(r *http.Request) invitationsView {
	s, _ := sessionFrom(r.Context())
	v := invitationsView{Roles: grantable(s.Principal), Role: "member"}
	return v
}

// invitationsPage renders v with the pending invitations as stored now.
func (c *console) invitationsPage(w http.ResponseWriter, r *http.Request, status int, v invitationsView) {
	list, err := c.identity.ListInvitations(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Invitations = list
	c.renderPage(w, r, status, invitationsPage(c.chrome(r, "Invitations", "invitations"), v))
}

func (c *console) invite(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	v := c.invitationsView(r)
	v.Email, v.Role = strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("role")
	inv, err := c.identity.Invite(r.Context(), v.Email, v.Role)
	code := engine.ErrorCode(err)
	switch code {
	case "":
		v.Created = &inv
		v.Email, v.Role = "", "member"
		c.invitationsPage(w, r, http.StatusOK, v)
	case engine.CodeInvalid:
		v.Errors, v.Error = formProblems(err, invitationLabels)
		c.invitationsPage(w, r, http.StatusUnprocessableEntity, v)
	case engine.CodeForbidden:
		v.Errors = map[string]string{"role": "You may not give the role " + v.Role + "."}
		v.Error = engine.ErrorMessage(err)
		c.invitationsPage(w, r, api.StatusFor(code), v)
	default:
		c.fail(w, r, err)
	}
}

func (c *console) revokeInvitation(w http.ResponseWriter, r *http.Request) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if err := c.identity.RevokeInvitation(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, consoleBase(r.Context())+"/invitations?done=revoked")
}
