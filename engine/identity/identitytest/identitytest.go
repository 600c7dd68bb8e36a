// Package identitytest builds a real identity service for tests: real
// database, fast password hashing, a settable clock, and an Outbox in place
// of email and SMS delivery (the one thing outside the machine).
package identitytest

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/notify"
	"github.com/guildhall/guildhall/engine/secret"
)

// Clock is a settable clock. It starts at the real time, since the
// database's clock runs alongside it; tests move it forward.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at the current time.
func NewClock() *Clock { return &Clock{t: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// FastArgon keeps password hashing quick in tests; benchmarks measure the
// real cost.
var FastArgon = identity.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}

// Bundle is an identity service with what tests reach into.
type Bundle struct {
	Service *identity.Service
	Authz   *authz.Authorizer
	Outbox  *notify.Outbox
	Clock   *Clock
	Keys    *secret.Keyring
}

// New builds the service on d. Fields set in cfg are kept; the rest get test
// values (random keys, FastArgon, the Outbox, the Clock, links under
// https://test.example).
func New(tb testing.TB, d *db.DB, cfg identity.Config) Bundle {
	tb.Helper()
	b := Bundle{Outbox: &notify.Outbox{}, Clock: NewClock()}
	var err error
	if b.Keys, err = secret.NewKeyring(secret.NewKey("k1")); err != nil {
		tb.Fatal(err)
	}
	if b.Authz, err = authz.New(); err != nil {
		tb.Fatal(err)
	}
	if cfg.Keys == nil {
		cfg.Keys = b.Keys
	}
	if cfg.JWTKeys == nil {
		cfg.JWTKeys = []secret.Key{secret.NewKey("j1")}
	}
	if cfg.Argon2 == (identity.Argon2Params{}) {
		cfg.Argon2 = FastArgon
	}
	if cfg.Mailer == nil {
		cfg.Mailer = b.Outbox
	}
	if cfg.Texter == nil {
		cfg.Texter = b.Outbox
	}
	if cfg.Now == nil {
		cfg.Now = b.Clock.Now
	}
	if cfg.Links == nil {
		cfg.Links = func(_ context.Context, path string) string { return "https://test.example" + path }
	}
	if b.Service, err = identity.NewService(d, b.Authz, cfg); err != nil {
		tb.Fatal(err)
	}
	return b
}

var codeRe = regexp.MustCompile(`\b(\d{6})\b`)

// LastCode returns the six-digit code of the last email to to.
func (b Bundle) LastCode(tb testing.TB, to string) string {
	tb.Helper()
	m, ok := b.Outbox.LastEmailTo(to)
	if !ok {
		tb.Fatalf("no email to %s", to)
	}
	c := codeRe.FindStringSubmatch(m.Text)
	if c == nil {
		tb.Fatalf("no code in the email to %s: %q", to, m.Text)
	}
	return c[1]
}
