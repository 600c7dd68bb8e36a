package identity

import (
	"strings"
	"testing"
)

func TestPasswords(t *testing.T) {
	t.Parallel()
	fast := Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}
	h := HashPassword("correct horse battery", fast)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash = %s", h)
	}
	if ok, rehash := VerifyPassword("correct horse battery", h, fast); !ok || rehash {
		t.Errorf("VerifyPassword(right) = %v, %v", ok, rehash)
	}
	if ok, _ := VerifyPassword("Correct horse battery", h, fast); ok {
		t.Errorf("VerifyPassword(wrong) = true")
	}
	if ok, rehash := VerifyPassword("correct horse battery", h, DefaultArgon2); !ok || !rehash {
		t.Errorf("hash weaker than current: rehash = %v, want true", rehash)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=x$a$b"} {
		if ok, _ := VerifyPassword("x", bad, fast); ok {
			t.Errorf("VerifyPassword(malformed %q) = true", bad)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pw   string
		want string
	}{
		{"correct horse battery", ""},
		{"short", "must be at least 8 characters"},
		{"passw0rd", "is one of the most common passwords; choose another"},
		{"PASSWORD1", "is one of the most common passwords; choose another"},
		{"ünïcödé!", ""},
		{strings.Repeat("a", 257), "must be at most 256 characters"},
		{"bad\xffutf8x", "is not valid text"},
	}
	for _, tt := range tests {
		got := ""
		if fe := CheckPassword("password", tt.pw); fe != nil {
			got = fe.Message
		}
		if got != tt.want {
			t.Errorf("CheckPassword(%q) = %q, want %q", tt.pw, got, tt.want)
		}
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add("x", "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("x", "$argon2id$v=19$m=8,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, pw, encoded string) {
		// Malformed or costly hashes must be refused, never panic or run away.
		if _, _, _, err := parsePHC(encoded); err == nil {
			p, _, _, _ := parsePHC(encoded)
			if p.MemoryKiB > 64*1024 || p.Time > 3 {
				t.Skip("valid but costly: not run in a fuzz loop")
			}
		}
		VerifyPassword(pw, encoded, DefaultArgon2)
	})
}
