// Package secret seals small secrets at rest (TOTP secrets, later a
// tenant's payment credentials) and derives keyed hashes for values that must
// not be reversible offline (one-time codes).
//
// Guarantees: a sealed value is AES-256-GCM with a random nonce and names
// the key that sealed it, so keys rotate: put the new key first, keep the old
// ones until everything was resealed. A value sealed by a key the Keyring no
// longer has, or tampered with, does not open.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a key in bytes.
const KeySize = 32

// Key is one named 256-bit key.
type Key struct {
	ID    string
	Bytes [KeySize]byte
}

// Keyring seals with its first key and opens with any.
type Keyring struct {
	keys []Key
	aead map[string]cipher.AEAD
}

// ErrOpen is returned when a sealed value cannot be opened.
var ErrOpen = errors.New("sealed value cannot be opened")

// NewKeyring returns a keyring of keys; the first seals. IDs must be unique,
// 1 to 16 characters of [a-z0-9].
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	k := &Keyring{keys: keys, aead: map[string]cipher.AEAD{}}
	for _, key := range keys {
		if !validID(key.ID) {
			return nil, fmt.Errorf("key id %q: want 1 to 16 of [a-z0-9]", key.ID)
		}
		if _, dup := k.aead[key.ID]; dup {
			return nil, fmt.Errorf("key id %q twice", key.ID)
		}
		block, err := aes.NewCipher(key.Bytes[:])
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", key.ID, err)
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", key.ID, err)
		}
		k.aead[key.ID] = gcm
	}
	return k, nil
}

// ParseKeys parses "id:base64,id:base64" (standard or URL base64 of 32
// bytes), the format of GUILDHALL_SECRET_KEYS and GUILDHALL_JWT_KEYS.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok || !validID(id) {
			return nil, errors.New("want id:base64 pairs separated by commas, ids of 1 to 16 of [a-z0-9]")
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
		}
		if err != nil || len(raw) != KeySize {
			return nil, fmt.Errorf("key %s: want %d bytes in base64", id, KeySize)
		}
		k := Key{ID: id}
		copy(k.Bytes[:], raw)
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

// NewKey returns a random key with the given ID.
func NewKey(id string) Key {
	k := Key{ID: id}
	_, _ = rand.Read(k.Bytes[:])
	return k
}

// FormatKeys renders keys as ParseKeys reads them.
func FormatKeys(keys ...Key) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.ID + ":" + base64.StdEncoding.EncodeToString(k.Bytes[:])
	}
	return strings.Join(parts, ",")
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 16 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Keys returns the keys, the sealing one first.
func (k *Keyring) Keys() []Key { return k.keys }

// Seal encrypts plaintext with the first key. aad binds the sealed value to
// its place (e.g. "totp:<tenant>:<user>"): it opens only with the same aad.
// Format: id '.' nonce ciphertext.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	key := k.keys[0]
	gcm := k.aead[key.ID]
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	out := append([]byte(key.ID+"."), nonce...)
	return gcm.Seal(out, nonce, plaintext, aad)
}

// Open decrypts a value made by Seal with the same aad.
// Errors: ErrOpen.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	id, rest, ok := strings.Cut(string(sealed), ".")
	gcm, known := k.aead[id]
	if !ok || !known || len(rest) < gcm.NonceSize() {
		return nil, ErrOpen
	}
	nonce, ct := []byte(rest[:gcm.NonceSize()]), []byte(rest[gcm.NonceSize():])
	pt, err := gcm.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// MAC returns HMAC-SHA256 of parts (length-prefixed, so parts cannot run
// into each other) under a key derived from the sealing key for purpose.
// It is deterministic: use it to store values you must compare but never
// read back (one-time codes), where a plain hash could be reversed by brute
// force.
func (k *Keyring) MAC(purpose string, parts ...[]byte) []byte {
	return macWith(k.keys[0], purpose, parts...)
}

// MACs returns the MAC under every key, the current one first, to verify
// values stored before a rotation.
func (k *Keyring) MACs(purpose string, parts ...[]byte) [][]byte {
	out := make([][]byte, len(k.keys))
	for i, key := range k.keys {
		out[i] = macWith(key, purpose, parts...)
	}
	return out
}

func macWith(key Key, purpose string, parts ...[]byte) []byte {
	derive := hmac.New(sha256.New, key.Bytes[:])
	derive.Write([]byte("guildhall mac " + purpose))
	m := hmac.New(sha256.New, derive.Sum(nil))
	for _, p := range parts {
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}
