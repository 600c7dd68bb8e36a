package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestKeyring_SealOpen(t *testing.T) {
	t.Parallel()
	old, cur := NewKey("k1"), NewKey("k2")
	before, err := NewKeyring(old)
	if err != nil {
		t.Fatal(err)
	}
	sealedOld := before.Seal([]byte("otpauth secret"), []byte("totp:a"))
	after, err := NewKeyring(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	sealedNew := after.Seal([]byte("otpauth secret"), []byte("totp:a"))
	if !bytes.HasPrefix(sealedNew, []byte("k2.")) {
		t.Errorf("sealed with %q, want the first key", sealedNew[:3])
	}
	for _, s := range [][]byte{sealedOld, sealedNew} {
		pt, err := after.Open(s, []byte("totp:a"))
		if err != nil || string(pt) != "otpauth secret" {
			t.Errorf("Open() = %q, %v", pt, err)
		}
	}
	if _, err := after.Open(sealedNew, []byte("totp:b")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(other aad) = %v, want ErrOpen", err)
	}
	tampered := bytes.Clone(sealedNew)
	tampered[len(tampered)-1] ^= 1
	if _, err := after.Open(tampered, []byte("totp:a")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(tampered) = %v, want ErrOpen", err)
	}
	onlyNew, _ := NewKeyring(cur)
	if _, err := onlyNew.Open(sealedOld, []byte("totp:a")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(retired key) = %v, want ErrOpen", err)
	}
	for _, junk := range []string{"", ".", "k2", "k2.short", "zz.0123456789abcdef0123"} {
		if _, err := after.Open([]byte(junk), nil); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%q) = %v, want ErrOpen", junk, err)
		}
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	a, b := NewKey("a1"), NewKey("b2")
	keys, err := ParseKeys(FormatKeys(a, b))
	if err != nil || len(keys) != 2 || keys[0] != a || keys[1] != b {
		t.Errorf("ParseKeys(FormatKeys()) = %v, %v", keys, err)
	}
	for _, bad := range []string{"", "nocolon", "UP:AAAA", "a:short", "a:" + strings.Repeat("A", 44) + ",a:" + strings.Repeat("A", 44)} {
		if keys, err := ParseKeys(bad); err == nil {
			if _, err := NewKeyring(keys...); err == nil {
				t.Errorf("ParseKeys(%q) accepted", bad)
			}
		}
	}
}

func TestKeyring_MAC(t *testing.T) {
	t.Parallel()
	k1, k2 := NewKey("k1"), NewKey("k2")
	r, _ := NewKeyring(k2, k1)
	old, _ := NewKeyring(k1)
	m := old.MAC("code", []byte("123456"))
	if !bytes.Equal(r.MACs("code", []byte("123456"))[1], m) {
		t.Errorf("MACs() does not contain the MAC of the older key")
	}
	if bytes.Equal(r.MAC("code", []byte("12"), []byte("3456")), r.MAC("code", []byte("123"), []byte("456"))) {
		t.Errorf("MAC parts run into each other")
	}
	if bytes.Equal(r.MAC("code", []byte("1")), r.MAC("other", []byte("1"))) {
		t.Errorf("MAC ignores the purpose")
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add(FormatKeys(NewKey("a")))
	f.Add("a:AAAA,b:")
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseKeys(s)
		if err != nil {
			return
		}
		for _, k := range keys {
			if !validID(k.ID) {
				t.Errorf("ParseKeys(%q) accepted id %q", s, k.ID)
			}
		}
	})
}
