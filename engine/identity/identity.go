package identity

import (
	"context"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/notify"
	"github.com/guildhall/guildhall/engine/secret"
)

// Kind is where a session is used: it decides what the client holds.
type Kind string

// The session kinds.
const (
	KindAPI     Kind = "api"     // access and refresh tokens
	KindWeb     Kind = "web"     // the tenant web app's cookie
	KindConsole Kind = "console" // the console's cookie (staff only)
)

// User is an end user of a tenant.
type User struct {
	ID            uuid.UUID
	Email         string // "" once deleted
	EmailVerified bool
	Phone         string
	DisplayName   string
	AvatarURL     string
	MFAEnabled    bool
	Status        string // active or deleted
	Role          string
	Banned        bool
	BanReason     string
	CreatedAt     time.Time
}

// Tokens are what an API client holds after signing in.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration // of the access token
}

// SignIn is the outcome of a first factor: either a session (Tokens for
// API clients, Cookie for web and console), or a pending second factor.
type SignIn struct {
	User        User
	SessionID   uuid.UUID
	Tokens      *Tokens
	Cookie      string // the cookie value of a web or console session
	MFARequired bool
	MFAToken    string // pass to CompleteMFA with the TOTP or a recovery code
}

// Client describes where a request comes from, for sessions and the audit
// log.
type Client struct {
	Kind      Kind
	IP        netip.Addr
	UserAgent string
}

// Config configures the Service. Keys seals TOTP secrets and keys the MACs
// of one-time codes; JWTKeys sign access tokens (the first signs, all
// verify).
type Config struct {
	Keys       *secret.Keyring
	JWTKeys    []secret.Key
	Argon2     Argon2Params
	AccessTTL  time.Duration // access token lifetime; default 10 minutes
	RefreshTTL time.Duration // refresh token lifetime; default 30 days
	SessionTTL time.Duration // longest life of any session; default 90 days
	CookieTTL  time.Duration // web and console sessions; default 30 days
	Mailer     notify.Mailer
	Texter     notify.Texter
	// Links returns the absolute URL of path on the web app of the tenant
	// in ctx, for links in emails (invitations).
	Links func(ctx context.Context, path string) string
	// TenantName returns the display name of the tenant in ctx, for emails
	// and the TOTP issuer.
	TenantName func(ctx context.Context) string
	Now        func() time.Time
}

func (c *Config) defaults() {
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = DefaultArgon2
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = 10 * time.Minute
	}
	if c.RefreshTTL == 0 {
		c.RefreshTTL = 30 * 24 * time.Hour
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 90 * 24 * time.Hour
	}
	if c.CookieTTL == 0 {
		c.CookieTTL = 30 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Links == nil {
		c.Links = func(_ context.Context, path string) string { return path }
	}
	if c.TenantName == nil {
		c.TenantName = func(context.Context) string { return "Guildhall" }
	}
}

// Errors callers branch on.
var (
	// ErrBadCredentials answers an unknown account, a wrong password, a
	// locked account and a deleted one alike.
	ErrBadCredentials = &engine.Error{Code: engine.CodeUnauthenticated, Message: "Email or password is incorrect."}
	// ErrBadCode answers a wrong, expired, used or exhausted code alike.
	ErrBadCode = &engine.Error{Code: engine.CodeUnauthenticated, Message: "The code is wrong or has expired."}
	// ErrUnauthenticated answers a missing, malformed, expired, forged or
	// revoked token or key, and a token of another tenant.
	ErrUnauthenticated = &engine.Error{Code: engine.CodeUnauthenticated, Message: "Sign in to do this."}
	// ErrBanned answers a banned member who got the credentials right.
	ErrBanned = &engine.Error{Code: engine.CodeForbidden, Message: "This account is banned from this community."}
	// ErrEmailUnverified answers a correct password of an account whose
	// email is not verified yet; a new code has been sent.
	ErrEmailUnverified = &engine.Error{Code: engine.CodeForbidden, Message: "Verify your email address first: we have sent a code to it."}
	// ErrNotStaff answers a member signing in to the console.
	ErrNotStaff = &engine.Error{Code: engine.CodeForbidden, Message: "Only the community's staff can use the console."}
	// ErrNotFound is returned for a user, invitation or key that does not
	// exist in the tenant.
	ErrNotFound = &engine.Error{Code: engine.CodeNotFound, Message: "Not found."}
	// ErrLastOwner refuses to leave a tenant without an owner.
	ErrLastOwner = &engine.Error{Code: engine.CodeConflict, Message: "A community needs an owner: make someone else owner first."}
	// ErrForbidden refuses an action on someone the actor does not outrank.
	ErrForbidden = &engine.Error{Code: engine.CodeForbidden, Message: "You may not do this."}
)
