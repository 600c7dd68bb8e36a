package identity_test

import (
	"testing"

	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/identity"
)

// BenchmarkAuthenticateAndAuthorize is the per-request cost of a signed-in
// API call: verify the access token, check the session's current state
// (cached), and enforce the operation's permission. Target: under 50 µs.
func BenchmarkAuthenticateAndAuthorize(b *testing.B) {
	tb := setup(b)
	si := tb.signUp(b, "bench@example.com")
	az, err := authz.New()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tb.svc.AuthenticateBearer(tb.ctx, si.Tokens.AccessToken); err != nil {
		b.Fatal(err) // warms the cache
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := tb.svc.AuthenticateBearer(tb.ctx, si.Tokens.AccessToken)
		if err != nil || !az.Can(p, "members:read") {
			b.Fatalf("denied: %v", err)
		}
	}
}

// BenchmarkHashPassword is the cost of one sign-in's argon2id at the
// default parameters (19 MiB, 2 iterations, 1 thread): deliberately slow.
func BenchmarkHashPassword(b *testing.B) {
	hash := identity.HashPassword("correct horse battery", identity.DefaultArgon2)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := identity.VerifyPassword("correct horse battery", hash, identity.DefaultArgon2); !ok {
			b.Fatal("mismatch")
		}
	}
}
