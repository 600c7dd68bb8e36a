package identity

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine/api"
)

// UserBody is a user as the API shows it.
type UserBody struct {
	ID            string    `json:"id" format:"uuid"`
	Email         string    `json:"email,omitempty"`
	EmailVerified bool      `json:"email_verified"`
	Phone         string    `json:"phone,omitempty"`
	DisplayName   string    `json:"display_name"`
	AvatarURL     string    `json:"avatar_url,omitempty"`
	MFAEnabled    bool      `json:"mfa_enabled"`
	Role          string    `json:"role" enum:"owner,admin,moderator,member"`
	Banned        bool      `json:"banned"`
	BanReason     string    `json:"ban_reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

func userBody(u User) UserBody {
	return UserBody{ID: u.ID.String(), Email: u.Email, EmailVerified: u.EmailVerified, Phone: u.Phone, DisplayName: u.DisplayName,
		AvatarURL: u.AvatarURL, MFAEnabled: u.MFAEnabled, Role: u.Role, Banned: u.Banned, BanReason: u.BanReason, CreatedAt: u.CreatedAt}
}

// SessionBody is the outcome of a sign-in step: tokens, or a second factor
// to complete with complete-mfa.
type SessionBody struct {
	MFARequired  bool      `json:"mfa_required"`
	MFAToken     string    `json:"mfa_token,omitempty" doc:"Pass to complete-mfa with a TOTP or recovery code; valid five minutes."`
	AccessToken  string    `json:"access_token,omitempty" doc:"JWT for the Authorization: Bearer header."`
	RefreshToken string    `json:"refresh_token,omitempty" doc:"Single use: exchange it with refresh-session for new tokens. Using one twice ends the session."`
	TokenType    string    `json:"token_type,omitempty" example:"Bearer"`
	ExpiresIn    int       `json:"expires_in,omitempty" doc:"Seconds until the access token expires."`
	User         *UserBody `json:"user,omitempty"`
}

func sessionBody(s SignIn) SessionBody {
	u := userBody(s.User)
	out := SessionBody{MFARequired: s.MFARequired, MFAToken: s.MFAToken, User: &u}
	if s.Tokens != nil {
		out.AccessToken, out.RefreshToken, out.TokenType = s.Tokens.AccessToken, s.Tokens.RefreshToken, "Bearer"
		out.ExpiresIn = int(s.Tokens.ExpiresIn / time.Second)
	}
	return out
}

type sessionOutput struct{ Body SessionBody }

type userOutput struct{ Body UserBody }

type acceptedOutput struct {
	Body struct {
		Status string `json:"status" example:"sent" doc:"Always the same, whether or not the address has an account."`
	}
}

func accepted() *acceptedOutput {
	out := &acceptedOutput{}
	out.Body.Status = "sent"
	return out
}

// apiClient describes the API caller of ctx.
func apiClient(ctx context.Context) Client {
	c := Client{Kind: KindAPI}
	if hc, ok := ctx.Value(humaRequestKey{}).(*http.Request); ok {
		c.IP = api.ClientIP(hc)
		c.UserAgent = hc.UserAgent()
	}
	return c
}

type humaRequestKey struct{}

// withRequest keeps the *http.Request in the context of auth operations,
// for the session's IP and user agent.
func withRequest(ctx huma.Context, next func(huma.Context)) {
	r, _ := humago.Unwrap(ctx)
	next(huma.WithValue(ctx, humaRequestKey{}, r))
}

func op(id, method, path, summary, desc string, tags ...string) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: api.Prefix + path, Summary: summary, Description: desc, Tags: tags}
}

// RegisterAPI registers the identity operations: sign-up and sign-in,
// tokens, the caller's account and MFA, members and invitations, API keys
// and request limits.
func RegisterAPI(a huma.API, s *Service) {
	auth := huma.NewGroup(a)
	auth.UseMiddleware(withRequest)
	signIn := api.Access{Permission: "public", Tenant: true, Limit: api.LimitSignIn}
	codes := api.Access{Permission: "public", Tenant: true, Limit: api.LimitCodes}

	register(auth, api.Declare(op("sign-up", http.MethodPost, "/auth/sign-up", "Sign up",
		"Creates an account and emails a verification code; verify-email completes it. The answer is the same when the address already has an account (its owner gets an email saying so).", "Auth"),
		codes), func(ctx context.Context, in *struct {
		Body struct {
			Email       string `json:"email" maxLength:"254"`
			Password    string `json:"password" maxLength:"1024"`
			DisplayName string `json:"display_name" maxLength:"100"`
		}
	}) (*acceptedOutput, error) {
		return accepted(), s.SignUp(ctx, SignUpParams{Email: in.Body.Email, Password: in.Body.Password, DisplayName: in.Body.DisplayName})
	}, withStatus(http.StatusAccepted))

	register(auth, api.Declare(op("verify-email", http.MethodPost, "/auth/verify-email", "Verify an email address",
		"Checks the code sent at sign-up (or by request-code with purpose verify_email) and signs in.", "Auth"), signIn),
		func(ctx context.Context, in *struct {
			Body struct {
				Email string `json:"email" maxLength:"254"`
				Code  string `json:"code" maxLength:"20"`
			}
		}) (*sessionOutput, error) {
			si, err := s.VerifyEmail(ctx, in.Body.Email, in.Body.Code, apiClient(ctx))
			if err != nil {
				return nil, err
			}
			return &sessionOutput{Body: sessionBody(si)}, nil
		})

	register(auth, api.Declare(op("sign-in", http.MethodPost, "/auth/sign-in", "Sign in with a password",
		"Unknown address and wrong password answer alike. Five failures in a row lock the account for a while. With TOTP on, the answer asks for the second factor.", "Auth"), signIn),
		func(ctx context.Context, in *struct {
			Body struct {
				Email    string `json:"email" maxLength:"254"`
				Password string `json:"password" maxLength:"1024"`
			}
		}) (*sessionOutput, error) {
			si, err := s.SignInWithPassword(ctx, SignInParams{Email: in.Body.Email, Password: in.Body.Password, Client: apiClient(ctx)})
			if err != nil {
				return nil, err
			}
			return &sessionOutput{Body: sessionBody(si)}, nil
		})

	register(auth, api.Declare(op("request-code", http.MethodPost, "/auth/codes", "Send a one-time code",
		"Sends a six-digit code, valid ten minutes, by email (or, for sign_in, by SMS to a confirmed number). The answer is the same whether or not an account matches.", "Auth"), codes),
		func(ctx context.Context, in *struct {
			Body struct {
				Purpose string `json:"purpose" enum:"sign_in,verify_email,reset_password"`
				Email   string `json:"email,omitempty" maxLength:"254"`
				Phone   string `json:"phone,omitempty" maxLength:"16" doc:"E.164, for sign_in codes by SMS."`
			}
		}) (*acceptedOutput, error) {
			return accepted(), s.RequestCode(ctx, CodeParams{Purpose: in.Body.Purpose, Email: in.Body.Email, Phone: in.Body.Phone})
		}, withStatus(http.StatusAccepted))

	register(auth, api.Declare(op("sign-in-with-code", http.MethodPost, "/auth/sign-in/code", "Sign in with a one-time code", "", "Auth"), signIn),
		func(ctx context.Context, in *struct {
			Body struct {
				Email string `json:"email,omitempty" maxLength:"254"`
				Phone string `json:"phone,omitempty" maxLength:"16"`
				Code  string `json:"code" maxLength:"20"`
			}
		}) (*sessionOutput, error) {
			dest := in.Body.Email
			if in.Body.Phone != "" {
				dest = in.Body.Phone
			}
			si, err := s.SignInWithCode(ctx, dest, in.Body.Code, apiClient(ctx))
			if err != nil {
				return nil, err
			}
			return &sessionOutput{Body: sessionBody(si)}, nil
		})

	register(auth, api.Declare(op("complete-mfa", http.MethodPost, "/auth/mfa", "Complete a sign-in with the second factor",
		"A current TOTP code (each accepted once) or an unused recovery code. Five wrong codes void the sign-in.", "Auth"), signIn),
		func(ctx context.Context, in *struct {
			Body struct {
				MFAToken string `json:"mfa_token" maxLength:"100"`
				Code     string `json:"code" maxLength:"20"`
			}
		}) (*sessionOutput, error) {
			si, err := s.CompleteMFA(ctx, in.Body.MFAToken, in.Body.Code, apiClient(ctx))
			if err != nil {
				return nil, err
			}
			return &sessionOutput{Body: sessionBody(si)}, nil
		})

	register(auth, api.Declare(op("reset-password", http.MethodPost, "/auth/password-reset", "Reset a forgotten password",
		"With a code from request-code (purpose reset_password). Signs the account out everywhere.", "Auth"), signIn),
		func(ctx context.Context, in *struct {
			Body struct {
				Email       string `json:"email" maxLength:"254"`
				Code        string `json:"code" maxLength:"20"`
				NewPassword string `json:"new_password" maxLength:"1024"`
			}
		}) (*struct{}, error) {
			return nil, s.ResetPassword(ctx, ResetPasswordParams{Email: in.Body.Email, Code: in.Body.Code, NewPassword: in.Body.NewPassword})
		}, withStatus(http.StatusNoContent))

	register(auth, api.Declare(op("refresh-session", http.MethodPost, "/auth/refresh", "Renew the access token",
		"Exchanges a refresh token for a new pair. A refresh token works once: presenting a used one ends its whole session.", "Auth"),
		api.PublicTenant), func(ctx context.Context, in *struct {
		Body struct {
			RefreshToken string `json:"refresh_token" maxLength:"100"`
		}
	}) (*sessionOutput, error) {
		t, err := s.Refresh(ctx, in.Body.RefreshToken)
		if err != nil {
			return nil, err
		}
		return &sessionOutput{Body: SessionBody{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer",
			ExpiresIn: int(t.ExpiresIn / time.Second)}}, nil
	})

	register(a, api.Declare(op("sign-out", http.MethodPost, "/auth/sign-out", "Sign out",
		"Ends the caller's session: its refresh tokens stop working at once, its access tokens within a second.", "Auth"), api.Self),
		func(ctx context.Context, _ *struct{}) (*struct{}, error) {
			return nil, s.SignOut(ctx)
		}, withStatus(http.StatusNoContent))

	registerAccountAPI(a, s)
	registerMembersAPI(a, s)
	registerKeysAPI(a, s)
}

// register is huma.Register with operation options applied first.
func register[I, O any](a huma.API, o huma.Operation, h func(context.Context, *I) (*O, error), opts ...func(*huma.Operation)) {
	for _, opt := range opts {
		opt(&o)
	}
	huma.Register(a, o, h)
}

// withStatus sets an operation's success status.
func withStatus(status int) func(*huma.Operation) {
	return func(o *huma.Operation) { o.DefaultStatus = status }
}

func registerAccountAPI(a huma.API, s *Service) {
	tags := []string{"Account"}
	register(a, api.Declare(op("get-me", http.MethodGet, "/me", "Get my account", "", tags...), api.Self),
		func(ctx context.Context, _ *struct{}) (*userOutput, error) {
			u, err := s.Me(ctx)
			if err != nil {
				return nil, err
			}
			return &userOutput{Body: userBody(u)}, nil
		})

	register(a, api.Declare(op("update-me", http.MethodPatch, "/me", "Update my profile",
		"Display name and avatar. Role, email and everything else are not fields of this body.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			Body struct {
				DisplayName *string `json:"display_name,omitempty" maxLength:"100"`
				AvatarURL   *string `json:"avatar_url,omitempty" maxLength:"2048"`
			}
		}) (*userOutput, error) {
			u, err := s.UpdateProfile(ctx, ProfileParams{DisplayName: in.Body.DisplayName, AvatarURL: in.Body.AvatarURL})
			if err != nil {
				return nil, err
			}
			return &userOutput{Body: userBody(u)}, nil
		})

	register(a, api.Declare(op("change-password", http.MethodPost, "/me/password", "Change my password",
		"Signs out every other session.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			Body struct {
				CurrentPassword string `json:"current_password" maxLength:"1024"`
				NewPassword     string `json:"new_password" maxLength:"1024"`
			}
		}) (*struct{}, error) {
			return nil, s.ChangePassword(ctx, in.Body.CurrentPassword, in.Body.NewPassword)
		}, withStatus(http.StatusNoContent))

	register(a, api.Declare(op("request-phone-code", http.MethodPost, "/me/phone/code", "Text a code to confirm a phone number", "", tags...),
		api.Access{Permission: api.PermissionSelf, Tenant: true, Limit: api.LimitCodes}),
		func(ctx context.Context, in *struct {
			Body struct {
				Phone string `json:"phone" maxLength:"16" doc:"E.164, e.g. +4915112345678."`
			}
		}) (*acceptedOutput, error) {
			return accepted(), s.RequestPhoneCode(ctx, in.Body.Phone)
		}, withStatus(http.StatusAccepted))

	register(a, api.Declare(op("set-phone", http.MethodPut, "/me/phone", "Set my phone number",
		"With the code request-phone-code sent to it; an empty phone removes the number.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			Body struct {
				Phone string `json:"phone" maxLength:"16"`
				Code  string `json:"code,omitempty" maxLength:"20"`
			}
		}) (*userOutput, error) {
			u, err := s.SetPhone(ctx, in.Body.Phone, in.Body.Code)
			if err != nil {
				return nil, err
			}
			return &userOutput{Body: userBody(u)}, nil
		})

	register(a, api.Declare(op("delete-me", http.MethodPost, "/me/deletion", "Delete my account",
		"Erases personal data and ends every session; coin and money history stays, under an anonymous account. The last owner must hand over first.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			Body struct {
				Password string `json:"password" maxLength:"1024"`
			}
		}) (*struct{}, error) {
			return nil, s.DeleteAccount(ctx, in.Body.Password)
		}, withStatus(http.StatusNoContent))

	type recoveryOutput struct {
		Body struct {
			RecoveryCodes []string `json:"recovery_codes" doc:"Shown once. Each signs in once in place of a TOTP code."`
		}
	}
	type codeInput struct {
		Body struct {
			Code string `json:"code" maxLength:"20"`
		}
	}
	register(a, api.Declare(op("enroll-totp", http.MethodPost, "/me/mfa/totp", "Start two-step sign-in",
		"Returns a new TOTP secret (and its otpauth URI and QR code); confirm-totp turns it on.", tags...), api.Self),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Secret     string `json:"secret"`
				OTPAuthURL string `json:"otpauth_url"`
				QRCodePNG  []byte `json:"qr_code_png" doc:"PNG image, base64."`
			}
		}, error) {
			e, err := s.EnrollTOTP(ctx)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Secret     string `json:"secret"`
					OTPAuthURL string `json:"otpauth_url"`
					QRCodePNG  []byte `json:"qr_code_png" doc:"PNG image, base64."`
				}
			}{}
			out.Body.Secret, out.Body.OTPAuthURL, out.Body.QRCodePNG = e.Secret, e.URL, e.QRPNG
			return out, nil
		})
	register(a, api.Declare(op("confirm-totp", http.MethodPost, "/me/mfa/totp/confirm", "Turn two-step sign-in on", "", tags...), api.Self),
		func(ctx context.Context, in *codeInput) (*recoveryOutput, error) {
			codes, err := s.ConfirmTOTP(ctx, in.Body.Code)
			if err != nil {
				return nil, err
			}
			out := &recoveryOutput{}
			out.Body.RecoveryCodes = codes
			return out, nil
		})
	register(a, api.Declare(op("disable-totp", http.MethodPost, "/me/mfa/totp/disable", "Turn two-step sign-in off",
		"Needs a current TOTP code or a recovery code.", tags...), api.Self),
		func(ctx context.Context, in *codeInput) (*struct{}, error) {
			return nil, s.DisableTOTP(ctx, in.Body.Code)
		}, withStatus(http.StatusNoContent))
	register(a, api.Declare(op("regenerate-recovery-codes", http.MethodPost, "/me/mfa/recovery-codes", "Replace my recovery codes", "", tags...), api.Self),
		func(ctx context.Context, in *codeInput) (*recoveryOutput, error) {
			codes, err := s.RegenerateRecoveryCodes(ctx, in.Body.Code)
			if err != nil {
				return nil, err
			}
			out := &recoveryOutput{}
			out.Body.RecoveryCodes = codes
			return out, nil
		})
	register(a, api.Declare(op("accept-invitation", http.MethodPost, "/invitations/accept", "Accept an invitation",
		"Gives the caller the invited role. The caller's verified email must be the invited address.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			Body struct {
				Token string `json:"token" maxLength:"100"`
			}
		}) (*userOutput, error) {
			u, err := s.AcceptInvitation(ctx, in.Body.Token)
			if err != nil {
				return nil, err
			}
			return &userOutput{Body: userBody(u)}, nil
		})
}

// InvitationBody is an invitation as the API shows it.
type InvitationBody struct {
	ID        string    `json:"id" format:"uuid"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Link      string    `json:"link,omitempty" doc:"The invitation link; only in the answer to create-invitation."`
}

func invitationBody(i Invitation) InvitationBody {
	return InvitationBody{ID: i.ID.String(), Email: i.Email, Role: i.Role, CreatedAt: i.CreatedAt, ExpiresAt: i.ExpiresAt, Link: i.Link}
}

type memberPath struct {
	ID uuid.UUID `path:"id" format:"uuid"`
}

func registerMembersAPI(a huma.API, s *Service) {
	tags := []string{"Members"}
	register(a, api.Declare(op("list-members", http.MethodGet, "/members", "List members", "Oldest first, with cursor pagination.", tags...),
		api.Permission("members:read")), func(ctx context.Context, in *struct {
		Role   string `query:"role" enum:"owner,admin,moderator,member"`
		Banned string `query:"banned" enum:"true,false"`
		Q      string `query:"q" maxLength:"100" doc:"Start of the email address or display name."`
		Cursor string `query:"cursor" maxLength:"200"`
		Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	}) (*struct {
		Body struct {
			Members []UserBody `json:"members"`
			Next    string     `json:"next,omitempty"`
		}
	}, error) {
		var banned *bool
		if in.Banned != "" {
			b := in.Banned == "true"
			banned = &b
		}
		page, err := s.ListMembers(ctx, ListMembersParams{Role: in.Role, Banned: banned, Query: in.Q, Cursor: in.Cursor, Limit: in.Limit})
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				Members []UserBody `json:"members"`
				Next    string     `json:"next,omitempty"`
			}
		}{}
		out.Body.Members = make([]UserBody, len(page.Members))
		for i, m := range page.Members {
			out.Body.Members[i] = userBody(m)
		}
		out.Body.Next = page.Next
		return out, nil
	})

	register(a, api.Declare(op("get-member", http.MethodGet, "/members/{id}", "Get a member", "", tags...), api.Permission("members:read")),
		func(ctx context.Context, in *memberPath) (*userOutput, error) {
			u, err := s.Member(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &userOutput{Body: userBody(u)}, nil
		})

	register(a, api.Declare(op("change-member-role", http.MethodPut, "/members/{id}/role", "Change a member's role",
		"Only owners make or unmake owners; others change roles below their own, to roles below their own. A community keeps at least one owner. Takes effect on every server within a second.", tags...),
		api.Permission("members:manage")), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body struct {
			Role string `json:"role" enum:"owner,admin,moderator,member"`
		}
	}) (*userOutput, error) {
		u, err := s.ChangeRole(ctx, in.ID, in.Body.Role)
		if err != nil {
			return nil, err
		}
		return &userOutput{Body: userBody(u)}, nil
	})

	register(a, api.Declare(op("ban-member", http.MethodPost, "/members/{id}/ban", "Ban a member",
		"Ends their sessions and keeps them out. You must outrank them.", tags...), api.Permission("members:manage")),
		func(ctx context.Context, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body struct {
				Reason string `json:"reason,omitempty" maxLength:"500"`
			}
		}) (*userOutput, error) {
			u, err := s.Ban(ctx, in.ID, in.Body.Reason)
			if err != nil {
				return nil, err
			}
			return &userOutput{Body: userBody(u)}, nil
		})

	register(a, api.Declare(op("unban-member", http.MethodDelete, "/members/{id}/ban", "Lift a ban", "", tags...), api.Permission("members:manage")),
		func(ctx context.Context, in *memberPath) (*userOutput, error) {
			u, err := s.Unban(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &userOutput{Body: userBody(u)}, nil
		})

	type invitationOutput struct{ Body InvitationBody }
	register(a, api.Declare(op("create-invitation", http.MethodPost, "/invitations", "Invite someone",
		"Emails a link to join with a role (valid seven days). You may invite to roles below your own; owners to any.", tags...),
		api.Permission("members:manage")), func(ctx context.Context, in *struct {
		Body struct {
			Email string `json:"email" maxLength:"254"`
			Role  string `json:"role" enum:"owner,admin,moderator,member"`
		}
	}) (*invitationOutput, error) {
		inv, err := s.Invite(ctx, in.Body.Email, in.Body.Role)
		if err != nil {
			return nil, err
		}
		return &invitationOutput{Body: invitationBody(inv)}, nil
	}, withStatus(http.StatusCreated))

	register(a, api.Declare(op("list-invitations", http.MethodGet, "/invitations", "List pending invitations", "", tags...),
		api.Permission("members:read")), func(ctx context.Context, _ *struct{}) (*struct {
		Body struct {
			Invitations []InvitationBody `json:"invitations"`
		}
	}, error) {
		invs, err := s.ListInvitations(ctx)
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				Invitations []InvitationBody `json:"invitations"`
			}
		}{}
		out.Body.Invitations = make([]InvitationBody, len(invs))
		for i, inv := range invs {
			out.Body.Invitations[i] = invitationBody(inv)
		}
		return out, nil
	})

	register(a, api.Declare(op("revoke-invitation", http.MethodDelete, "/invitations/{id}", "Revoke an invitation", "", tags...),
		api.Permission("members:manage")), func(ctx context.Context, in *memberPath) (*struct{}, error) {
		return nil, s.RevokeInvitation(ctx, in.ID)
	}, withStatus(http.StatusNoContent))

	register(a, api.Declare(op("get-limits", http.MethodGet, "/settings/limits", "Get the request limits", "", "Settings"),
		api.Permission("settings:manage")), func(ctx context.Context, _ *struct{}) (*struct{ Body Limits }, error) {
		l, err := s.TenantLimits(ctx)
		return &struct{ Body Limits }{Body: l}, err
	})
	register(a, api.Declare(op("set-limits", http.MethodPut, "/settings/limits", "Set the request limits",
		"Per server instance: with several instances behind a load balancer a client may get up to that many times a limit.", "Settings"),
		api.Permission("settings:manage")), func(ctx context.Context, in *struct{ Body Limits }) (*struct{ Body Limits }, error) {
		l, err := s.SetLimits(ctx, in.Body)
		if err != nil {
			return nil, err
		}
		return &struct{ Body Limits }{Body: l}, nil
	})
}

// APIKeyBody is an API key as the API shows it (never its secret, but in
// the answer to create-api-key).
type APIKeyBody struct {
	ID         string     `json:"id" format:"uuid"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"The visible part: keys look like ghk_<prefix>_<secret>."`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty" doc:"Updated at most once a minute."`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Token      string     `json:"token,omitempty" doc:"The key itself: shown once, in the answer to create-api-key."`
}

func keyBody(k APIKey) APIKeyBody {
	return APIKeyBody{ID: k.ID.String(), Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CreatedAt: k.CreatedAt,
		ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

func registerKeysAPI(a huma.API, s *Service) {
	tags := []string{"API keys"}
	type keyOutput struct{ Body APIKeyBody }
	register(a, api.Declare(op("list-api-keys", http.MethodGet, "/api-keys", "List API keys", "Newest first, revoked ones too.", tags...),
		api.Permission("api_keys:manage")), func(ctx context.Context, _ *struct{}) (*struct {
		Body struct {
			APIKeys []APIKeyBody `json:"api_keys"`
		}
	}, error) {
		ks, err := s.ListAPIKeys(ctx)
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				APIKeys []APIKeyBody `json:"api_keys"`
			}
		}{}
		out.Body.APIKeys = make([]APIKeyBody, len(ks))
		for i, k := range ks {
			out.Body.APIKeys[i] = keyBody(k)
		}
		return out, nil
	})
	register(a, api.Declare(op("create-api-key", http.MethodPost, "/api-keys", "Create an API key",
		"The answer holds the key: store it, it is not shown again. Scopes are permission names, e.g. events:write, wallets:read.", tags...),
		api.Permission("api_keys:manage")), func(ctx context.Context, in *struct {
		Body struct {
			Name      string     `json:"name" maxLength:"100"`
			Scopes    []string   `json:"scopes" maxItems:"50"`
			ExpiresAt *time.Time `json:"expires_at,omitempty"`
		}
	}) (*keyOutput, error) {
		k, err := s.CreateAPIKey(ctx, CreateAPIKeyParams{Name: in.Body.Name, Scopes: in.Body.Scopes, ExpiresAt: in.Body.ExpiresAt})
		if err != nil {
			return nil, err
		}
		b := keyBody(k.APIKey)
		b.Token = k.Token
		return &keyOutput{Body: b}, nil
	}, withStatus(http.StatusCreated))
	register(a, api.Declare(op("revoke-api-key", http.MethodDelete, "/api-keys/{id}", "Revoke an API key",
		"It stops working on every server within a second.", tags...), api.Permission("api_keys:manage")),
		func(ctx context.Context, in *memberPath) (*keyOutput, error) {
			k, err := s.RevokeAPIKey(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &keyOutput{Body: keyBody(k)}, nil
		})
}
