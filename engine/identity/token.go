package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine/secret"
)

// Opaque token prefixes: they make a leaked token recognisable (and
// scannable) and tell the kinds apart.
const (
	prefixRefresh    = "ghr_"
	prefixCookie     = "ghs_"
	prefixMFA        = "ghm_"
	prefixInvitation = "ghi_"
	prefixAPIKey     = "ghk_"
)

// newToken returns a random opaque token with prefix and its SHA-256, which
// is what is stored.
func newToken(prefix string) (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok)
}

// hashToken is how opaque tokens are stored and looked up. A plain hash is
// enough: tokens carry 256 random bits.
func hashToken(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// validOpaque reports whether tok looks like a token of prefix, before any
// lookup.
func validOpaque(tok, prefix string) bool {
	rest, ok := strings.CutPrefix(tok, prefix)
	return ok && len(rest) == 43
}

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	TenantID  string `json:"tid"`
	SessionID string `json:"sid"`
	Role      string `json:"role,omitempty"`
}

const issuer = "guildhall"

// signer makes and checks access tokens: HS256 under the first key, any key
// verifies (by kid).
type signer struct {
	keys map[string][]byte
	sign secret.Key
	ttl  time.Duration
	now  func() time.Time
	// parser is built once: it pins the algorithm, so alg=none and
	// algorithm-confusion tokens never verify.
	parser *jwt.Parser
}

func newSigner(keys []secret.Key, ttl time.Duration, now func() time.Time) (*signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no JWT signing keys")
	}
	s := &signer{keys: map[string][]byte{}, sign: keys[0], ttl: ttl, now: now}
	for _, k := range keys {
		s.keys[k.ID] = k.Bytes[:]
	}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
		jwt.WithLeeway(5*time.Second),
	)
	return s, nil
}

// issue signs an access token for the session.
func (s *signer) issue(tenant, user, session uuid.UUID, role string) (string, error) {
	now := s.now()
	c := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   user.String(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		},
		TenantID:  tenant.String(),
		SessionID: session.String(),
		Role:      role,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = s.sign.ID
	out, err := t.SignedString(s.sign.Bytes[:])
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return out, nil
}

// verified is what a valid access token says.
type verified struct {
	tenant, user, session uuid.UUID
}

// verify checks signature, algorithm, issuer and expiry.
func (s *signer) verify(tok string) (verified, error) {
	var c accessClaims
	_, err := s.parser.ParseWithClaims(tok, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok := s.keys[kid]
		if !ok {
			return nil, errors.New("unknown key id")
		}
		return key, nil
	})
	if err != nil {
		return verified{}, err
	}
	var v verified
	var e1, e2, e3 error
	v.tenant, e1 = uuid.Parse(c.TenantID)
	v.user, e2 = uuid.Parse(c.Subject)
	v.session, e3 = uuid.Parse(c.SessionID)
	if err := errors.Join(e1, e2, e3); err != nil {
		return verified{}, fmt.Errorf("access token claims: %w", err)
	}
	return v, nil
}
