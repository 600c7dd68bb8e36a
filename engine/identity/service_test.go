package identity_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
)

func TestSignUpAndVerify(t *testing.T) {
	t.Parallel()
	b := setup(t)
	si := b.signUp(t, "ada@example.com")
	if si.Tokens == nil || si.Tokens.AccessToken == "" || !strings.HasPrefix(si.Tokens.RefreshToken, "ghr_") {
		t.Fatalf("VerifyEmail() = %+v, want tokens", si)
	}
	if si.User.Role != "owner" {
		t.Errorf("first account's role = %s, want owner", si.User.Role)
	}
	second := b.signUp(t, "bob@example.com")
	if second.User.Role != "member" {
		t.Errorf("second account's role = %s, want member", second.User.Role)
	}
	me, err := b.svc.Me(b.as(t, si))
	if err != nil || me.Email != "ada@example.com" || !me.EmailVerified {
		t.Errorf("Me() = %+v, %v", me, err)
	}
	if diff := cmp.Diff([]string{"account.signed_up", "account.email_verified", "auth.signed_in", "account.signed_up", "account.email_verified", "auth.signed_in"}, b.actions(t)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func TestSignUp_NoEnumeration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.signUp(t, "ada@example.com")
	before := len(b.outbox.Emails())
	err := b.svc.SignUp(b.ctx, identity.SignUpParams{Email: "ADA@example.com", Password: "another long password", DisplayName: "Impostor"})
	if err != nil {
		t.Errorf("SignUp(existing) = %v, want the same answer as a new address (nil)", err)
	}
	m, _ := b.outbox.LastEmailTo("ada@example.com")
	if len(b.outbox.Emails()) != before+1 || !strings.Contains(m.Subject, "already have an account") {
		t.Errorf("owner of the address got %q, want a note that someone tried to sign up", m.Subject)
	}
	// The impostor's password does not work.
	if _, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "another long password", Client: apiClient}); !errors.Is(err, identity.ErrBadCredentials) {
		t.Errorf("impostor's password = %v, want bad credentials", err)
	}
}

func TestSignUp_Invalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	err := b.svc.SignUp(b.ctx, identity.SignUpParams{Email: "not-an-email", Password: "password", DisplayName: " "})
	var fields []string
	for _, f := range engine.ErrorFields(err) {
		fields = append(fields, f.Field+": "+f.Message)
	}
	want := []string{"email: is not an email address", "password: is one of the most common passwords; choose another", "display_name: is required"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("SignUp(bad) problems (-want +got):\n%s", diff)
	}
	if err := b.svc.SignUp(b.ctx, identity.SignUpParams{Email: "a@example.com", Password: "short", DisplayName: "A"}); engine.ErrorCode(err) != engine.CodeInvalid {
		t.Errorf("SignUp(short password) = %v, want invalid", err)
	}
}

func TestSignInWithPassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.signUp(t, "ada@example.com")
	signIn := func(email, pw string) (identity.SignIn, error) {
		return b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: email, Password: pw, Client: apiClient})
	}

	t.Run("Correct", func(t *testing.T) {
		si, err := signIn("Ada@Example.com", "correct horse battery")
		if err != nil || si.Tokens == nil {
			t.Fatalf("SignIn() = %+v, %v", si, err)
		}
	})

	t.Run("UnknownAndWrongAnswerAlike", func(t *testing.T) {
		_, unknown := signIn("nobody@example.com", "correct horse battery")
		_, wrong := signIn("ada@example.com", "wrong password!")
		if unknown != identity.ErrBadCredentials || wrong != identity.ErrBadCredentials {
			t.Errorf("unknown = %v, wrong = %v; want the same ErrBadCredentials", unknown, wrong)
		}
		_, _ = signIn("ada@example.com", "correct horse battery") // resets the count
	})

	t.Run("UnverifiedGetsACode", func(t *testing.T) {
		if err := b.svc.SignUp(b.ctx, identity.SignUpParams{Email: "new@example.com", Password: "correct horse battery", DisplayName: "New"}); err != nil {
			t.Fatal(err)
		}
		n := len(b.outbox.Emails())
		_, err := signIn("new@example.com", "correct horse battery")
		if !errors.Is(err, identity.ErrEmailUnverified) || len(b.outbox.Emails()) != n+1 {
			t.Errorf("SignIn(unverified) = %v, want ErrEmailUnverified and a new code", err)
		}
	})
}

func TestSignIn_LocksAfterFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.signUp(t, "ada@example.com")
	for range 5 {
		_, _ = b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "guess guess guess", Client: apiClient})
	}
	_, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "correct horse battery", Client: apiClient})
	if !errors.Is(err, identity.ErrBadCredentials) {
		t.Fatalf("right password while locked = %v, want refused", err)
	}
	b.clock.Advance(2 * time.Minute)
	if _, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "correct horse battery", Client: apiClient}); err != nil {
		t.Errorf("right password after the lock = %v", err)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	si := b.signUp(t, "ada@example.com")

	t.Run("RefreshRotates", func(t *testing.T) {
		next, err := b.svc.Refresh(b.ctx, si.Tokens.RefreshToken)
		if err != nil || next.RefreshToken == si.Tokens.RefreshToken {
			t.Fatalf("Refresh() = %+v, %v", next, err)
		}
		if _, err := b.svc.AuthenticateBearer(b.ctx, next.AccessToken); err != nil {
			t.Errorf("new access token: %v", err)
		}
		// Replaying the first refresh token ends the whole session.
		if _, err := b.svc.Refresh(b.ctx, si.Tokens.RefreshToken); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("replayed refresh token = %v, want unauthenticated", err)
		}
		if _, err := b.svc.Refresh(b.ctx, next.RefreshToken); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("refresh token of a revoked family = %v, want unauthenticated", err)
		}
	})

	t.Run("RejectedTokens", func(t *testing.T) {
		si, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "correct horse battery", Client: apiClient})
		if err != nil {
			t.Fatal(err)
		}
		good := si.Tokens.AccessToken
		parts := strings.Split(good, ".")
		none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": "guildhall", "sub": si.User.ID.String(),
			"tid": b.tenant.String(), "sid": si.SessionID.String(), "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "guildhall", "sub": si.User.ID.String(),
			"tid": b.tenant.String(), "sid": si.SessionID.String(), "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		forged.Header["kid"] = "j1"
		forgedTok, _ := forged.SignedString([]byte("not the server's key at all, no"))
		otherCtx, _ := dbtest.NewTenant(t)
		cases := map[string]struct {
			tok string
			ctx func() bool
		}{
			"Garbage":        {tok: "garbage"},
			"AlgNone":        {tok: noneTok},
			"Forged":         {tok: forgedTok},
			"TamperedClaims": {tok: parts[0] + "." + strings.ToUpper(parts[1][:4]) + parts[1][4:] + "." + parts[2]},
			"Refresh":        {tok: si.Tokens.RefreshToken},
		}
		for name, c := range cases {
			if _, err := b.svc.AuthenticateBearer(b.ctx, c.tok); !errors.Is(err, identity.ErrUnauthenticated) {
				t.Errorf("%s: AuthenticateBearer() = %v, want unauthenticated", name, err)
			}
		}
		if _, err := b.svc.AuthenticateBearer(otherCtx, good); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("token of another tenant = %v, want unauthenticated", err)
		}
		b.clock.Advance(11 * time.Minute)
		if _, err := b.svc.AuthenticateBearer(b.ctx, good); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("expired token = %v, want unauthenticated", err)
		}
	})
}

func TestRefresh_ConcurrentUseGrantsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	si := b.signUp(t, "ada@example.com")
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 8 {
		wg.Go(func() {
			if _, err := b.svc.Refresh(b.ctx, si.Tokens.RefreshToken); err == nil {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 1 {
		t.Errorf("%d concurrent refreshes succeeded, want 1", granted)
	}
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	si := b.signUp(t, "ada@example.com")
	ctx := b.as(t, si)
	if err := b.svc.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Refresh(b.ctx, si.Tokens.RefreshToken); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("refresh after sign-out = %v, want unauthenticated", err)
	}
}

// TestEndedSessions: of the sessions asked about, those signed out,
// unknown or of another tenant are ended; current ones are not.
func TestEndedSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := setup(t)
	sessionOf := func(b testBundle, si identity.SignIn) uuid.UUID {
		p, _ := engine.PrincipalFrom(b.as(t, si))
		return p.SessionID
	}
	ada, bob := b.signUp(t, "ada@example.com"), b.signUp(t, "bob@example.com")
	adaS, bobS := sessionOf(b, ada), sessionOf(b, bob)
	elsewhere := sessionOf(other, other.signUp(t, "cy@example.com"))
	unknown := uuid.Must(uuid.NewV7())
	if err := b.svc.SignOut(b.as(t, bob)); err != nil {
		t.Fatal(err)
	}
	ended, err := b.svc.EndedSessions(b.ctx, []uuid.UUID{adaS, bobS, elsewhere, unknown})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ended, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
	want := []uuid.UUID{bobS, elsewhere, unknown}
	slices.SortFunc(want, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
	if !slices.Equal(ended, want) {
		t.Errorf("EndedSessions() = %v, want %v (all but ada's)", ended, want)
	}
	if ended, err := b.svc.EndedSessions(b.ctx, nil); err != nil || len(ended) != 0 {
		t.Errorf("EndedSessions(none) = %v, %v", ended, err)
	}
}

func TestCodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.signUp(t, "ada@example.com")

	t.Run("SignInWithCode", func(t *testing.T) {
		if err := b.svc.RequestCode(b.ctx, identity.CodeParams{Purpose: "sign_in", Email: "ada@example.com"}); err != nil {
			t.Fatal(err)
		}
		code := b.lastCode(t, "ada@example.com")
		si, err := b.svc.SignInWithCode(b.ctx, "ada@example.com", code, apiClient)
		if err != nil || si.Tokens == nil {
			t.Fatalf("SignInWithCode() = %+v, %v", si, err)
		}
		if _, err := b.svc.SignInWithCode(b.ctx, "ada@example.com", code, apiClient); !errors.Is(err, identity.ErrBadCode) {
			t.Errorf("code used twice = %v, want ErrBadCode", err)
		}
	})

	t.Run("AttemptsAreLimited", func(t *testing.T) {
		if err := b.svc.RequestCode(b.ctx, identity.CodeParams{Purpose: "sign_in", Email: "ada@example.com"}); err != nil {
			t.Fatal(err)
		}
		code := b.lastCode(t, "ada@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range 5 {
			_, _ = b.svc.SignInWithCode(b.ctx, "ada@example.com", wrong, apiClient)
		}
		if _, err := b.svc.SignInWithCode(b.ctx, "ada@example.com", code, apiClient); !errors.Is(err, identity.ErrBadCode) {
			t.Errorf("right code after 5 wrong ones = %v, want ErrBadCode", err)
		}
	})

	t.Run("Expire", func(t *testing.T) {
		b := setup(t)
		b.signUp(t, "eve@example.com")
		if err := b.svc.RequestCode(b.ctx, identity.CodeParams{Purpose: "sign_in", Email: "eve@example.com"}); err != nil {
			t.Fatal(err)
		}
		code := b.lastCode(t, "eve@example.com")
		b.clock.Advance(11 * time.Minute)
		if _, err := b.svc.SignInWithCode(b.ctx, "eve@example.com", code, apiClient); !errors.Is(err, identity.ErrBadCode) {
			t.Errorf("expired code = %v, want ErrBadCode", err)
		}
	})

	t.Run("UnknownAddressAnswersTheSame", func(t *testing.T) {
		n := len(b.outbox.Emails())
		if err := b.svc.RequestCode(b.ctx, identity.CodeParams{Purpose: "reset_password", Email: "nobody@example.com"}); err != nil {
			t.Errorf("RequestCode(unknown) = %v, want nil", err)
		}
		if len(b.outbox.Emails()) != n {
			t.Errorf("an email went to an unknown address")
		}
	})

	t.Run("ResetPassword", func(t *testing.T) {
		b := setup(t)
		si := b.signUp(t, "zoe@example.com")
		if err := b.svc.RequestCode(b.ctx, identity.CodeParams{Purpose: "reset_password", Email: "zoe@example.com"}); err != nil {
			t.Fatal(err)
		}
		err := b.svc.ResetPassword(b.ctx, identity.ResetPasswordParams{Email: "zoe@example.com", Code: b.lastCode(t, "zoe@example.com"), NewPassword: "a brand new passphrase"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Refresh(b.ctx, si.Tokens.RefreshToken); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("old session after reset = %v, want it revoked", err)
		}
		if _, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "zoe@example.com", Password: "a brand new passphrase", Client: apiClient}); err != nil {
			t.Errorf("new password: %v", err)
		}
	})
}

func TestTOTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	si := b.signUp(t, "ada@example.com")
	ctx := b.as(t, si)
	e, err := b.svc.EnrollTOTP(ctx)
	if err != nil || e.Secret == "" || !strings.HasPrefix(e.URL, "otpauth://totp/") || len(e.QRPNG) < 100 {
		t.Fatalf("EnrollTOTP() = %+v, %v", e, err)
	}
	if _, err := b.svc.ConfirmTOTP(ctx, "000000"); engine.ErrorCode(err) != engine.CodeInvalid {
		t.Errorf("ConfirmTOTP(wrong) = %v, want invalid", err)
	}
	code := identity.TOTPCode(e.Secret, b.clock.Now())
	recovery, err := b.svc.ConfirmTOTP(ctx, code)
	if err != nil || len(recovery) != 10 {
		t.Fatalf("ConfirmTOTP() = %v, %v", recovery, err)
	}

	// Password sign-in now asks for the second factor.
	first, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "correct horse battery", Client: apiClient})
	if err != nil || !first.MFARequired || first.Tokens != nil {
		t.Fatalf("SignIn() = %+v, %v; want MFA required", first, err)
	}
	// The code that confirmed enrolment is spent: replay is refused.
	if _, err := b.svc.CompleteMFA(b.ctx, first.MFAToken, code, apiClient); !errors.Is(err, identity.ErrBadCode) {
		t.Errorf("replayed TOTP code = %v, want ErrBadCode", err)
	}
	b.clock.Advance(30 * time.Second)
	next := identity.TOTPCode(e.Secret, b.clock.Now())
	done, err := b.svc.CompleteMFA(b.ctx, first.MFAToken, next, apiClient)
	if err != nil || done.Tokens == nil {
		t.Fatalf("CompleteMFA() = %+v, %v", done, err)
	}
	if _, err := b.svc.CompleteMFA(b.ctx, first.MFAToken, next, apiClient); !errors.Is(err, identity.ErrBadCode) {
		t.Errorf("challenge used twice = %v, want ErrBadCode", err)
	}

	// A recovery code works once.
	second, _ := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "correct horse battery", Client: apiClient})
	if _, err := b.svc.CompleteMFA(b.ctx, second.MFAToken, strings.ToUpper(recovery[0]), apiClient); err != nil {
		t.Errorf("recovery code: %v", err)
	}
	third, _ := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "correct horse battery", Client: apiClient})
	if _, err := b.svc.CompleteMFA(b.ctx, third.MFAToken, recovery[0], apiClient); !errors.Is(err, identity.ErrBadCode) {
		t.Errorf("recovery code reused = %v, want ErrBadCode", err)
	}

	b.clock.Advance(30 * time.Second)
	if err := b.svc.DisableTOTP(ctx, identity.TOTPCode(e.Secret, b.clock.Now())); err != nil {
		t.Fatalf("DisableTOTP() = %v", err)
	}
	if si, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "ada@example.com", Password: "correct horse battery", Client: apiClient}); err != nil || si.MFARequired {
		t.Errorf("sign-in after disabling = %+v, %v", si, err)
	}
	acts := strings.Join(b.actions(t), " ")
	for _, a := range []string{"mfa.enabled", "auth.mfa_failed", "mfa.recovery_code_used", "mfa.disabled"} {
		if !strings.Contains(acts, a) {
			t.Errorf("audit lacks %s: %s", a, acts)
		}
	}
}

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.signUp(t, "owner@example.com")
	member := b.signUp(t, "member@example.com")
	if err := b.svc.DeleteAccount(b.as(t, owner), "correct horse battery"); !errors.Is(err, identity.ErrLastOwner) {
		t.Errorf("last owner leaving = %v, want ErrLastOwner", err)
	}
	ctx := b.as(t, member)
	if err := b.svc.DeleteAccount(ctx, "wrong"); engine.ErrorCode(err) != engine.CodeInvalid {
		t.Errorf("DeleteAccount(wrong password) = %v, want invalid", err)
	}
	if err := b.svc.DeleteAccount(ctx, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	u, err := b.svc.Member(b.ctx, member.User.ID)
	if err != nil || u.Email != "" || u.DisplayName != "Deleted user" || u.Status != "deleted" {
		t.Errorf("deleted user = %+v, %v; want personal data erased, row kept", u, err)
	}
	if _, err := b.svc.Refresh(b.ctx, member.Tokens.RefreshToken); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("session of a deleted account = %v", err)
	}
	// The address is free again.
	if err := b.svc.SignUp(b.ctx, identity.SignUpParams{Email: "member@example.com", Password: "correct horse battery", DisplayName: "Again"}); err != nil {
		t.Errorf("sign-up with the freed address = %v", err)
	}
	_ = uuid.Nil
}
