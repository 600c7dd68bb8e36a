package identity

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/guildhall/guildhall/engine"
)

// Password limits. Length counts characters (runes).
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// Argon2Params are the argon2id cost parameters. They are stored with each
// hash, so raising them applies to new hashes and, on their next sign-in,
// to existing users.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is OWASP's minimum recommendation for argon2id.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

//go:embed common_passwords.txt
var commonPasswordsText string

var (
	commonOnce      sync.Once
	commonPasswords map[string]struct{}
)

func isCommon(pw string) bool {
	commonOnce.Do(func() {
		commonPasswords = make(map[string]struct{}, 18000)
		sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
		for sc.Scan() {
			commonPasswords[sc.Text()] = struct{}{}
		}
	})
	_, ok := commonPasswords[strings.ToLower(pw)]
	return ok
}

// CheckPassword reports the first problem with a new password, as a field
// problem for field. No composition rules: length, and not one of the most
// common passwords.
func CheckPassword(field, pw string) *engine.FieldError {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return &engine.FieldError{Field: field, Message: "is not valid text"}
	case n < MinPasswordLength:
		return &engine.FieldError{Field: field, Message: fmt.Sprintf("must be at least %d characters", MinPasswordLength)}
	case n > MaxPasswordLength:
		return &engine.FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", MaxPasswordLength)}
	case isCommon(pw):
		return &engine.FieldError{Field: field, Message: "is one of the most common passwords; choose another"}
	}
	return nil
}

// HashPassword returns the PHC string of pw under p:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(pw string, p Argon2Params) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// parsePHC parses a hash made by HashPassword.
func parsePHC(encoded string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("argon2 parameters %q", parts[3])
	}
	if p.MemoryKiB < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.MemoryKiB > 4<<20 || p.Time > 100 {
		return p, nil, nil, fmt.Errorf("argon2 parameters out of range")
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, nil, nil, fmt.Errorf("argon2 salt: %w", err)
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, fmt.Errorf("argon2 hash")
	}
	return p, salt, key, nil
}

// VerifyPassword reports whether pw matches the PHC hash, and whether the
// hash should be replaced because it was made with weaker parameters than
// current. A malformed hash never matches.
func VerifyPassword(pw, encoded string, current Argon2Params) (ok, rehash bool) {
	p, salt, key, err := parsePHC(encoded)
	if err != nil {
		return false, false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false
	}
	weaker := p.MemoryKiB < current.MemoryKiB || p.Time < current.Time || p.Threads < current.Threads
	return true, weaker
}
