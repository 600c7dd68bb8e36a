package inbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
)

// Notification is one thing a member is told about: a like, a comment, a
// reply, a mention, a follow, coins earned, an order's new status, a
// moderator's warning. Seq numbers a member's notifications in commit
// order (1, 2, 3, …): a live client that resumes after Seq n misses none.
type Notification struct {
	ID     uuid.UUID  `json:"id"`
	Seq    int64      `json:"seq"`
	Member uuid.UUID  `json:"member_id"`
	Kind   string     `json:"kind" doc:"like, comment, reply, mention, follow, coins, order, warning, or a plugin's dotted kind."`
	Actor  *uuid.UUID `json:"actor_id,omitempty" doc:"Who caused it, when a member did."`
	// Subject is what it is about, as a ref ("post:…", "order:…"); Link is
	// the path of the web app's page for it ("/posts/…"), relative to the
	// tenant's base.
	Subject string `json:"subject,omitempty"`
	Link    string `json:"link,omitempty"`
	// Text is the plain-text sentence shown to the member ("Ada liked your
	// post"). It is never HTML: every renderer escapes it.
	Text      string         `json:"text"`
	Data      map[string]any `json:"data,omitempty" doc:"Kind-specific details, e.g. coins and balance for coins."`
	CreatedAt time.Time      `json:"created_at"`
	ReadAt    *time.Time     `json:"read_at,omitempty"`
}

// AddParams is a notification to store (AddTx).
type AddParams struct {
	Member  uuid.UUID
	Kind    string
	Actor   *uuid.UUID
	Subject string
	Link    string
	Text    string
	Data    map[string]any
	// DedupeKey, when set, makes the notification once-only per member:
	// a second AddTx with the same key stores nothing and returns added
	// false (no error). Liking, unliking and liking again notifies the
	// author once.
	DedupeKey string
}

// Bounds of a notification's fields.
const (
	MaxText      = 500  // characters
	MaxSubject   = 200  // characters
	MaxLink      = 2000 // bytes
	MaxDedupeKey = 200  // characters
	MaxData      = 4096 // bytes of JSON
)

// Preferences are a member's notification settings.
type Preferences struct {
	Digest bool `json:"digest" doc:"Email me a daily digest of unread notifications."`
}

// ListParams selects a page of the signed-in member's notifications,
// newest first.
type ListParams struct {
	Unread bool   // only unread ones
	Cursor string // from a previous page's Next; empty for the newest
	Limit  int    // 1..100; 0 means 50
}

// Page is a page of notifications, newest first. Next is empty on the
// last page.
type Page struct {
	Notifications []Notification
	Next          string
}

// ReadResult says what marking notifications read did.
type ReadResult struct {
	Marked int64 `json:"marked" doc:"Notifications that were unread and are now read."`
	Unread int64 `json:"unread" doc:"Unread notifications left."`
}

// Errors callers branch on.
var (
	// ErrSignedOut answers a member operation without a signed-in user.
	ErrSignedOut = &engine.Error{Code: engine.CodeUnauthenticated, Message: "Sign in to do this."}
	// ErrUnknownMember answers AddTx for a member (or actor) who is not a
	// user of the tenant.
	ErrUnknownMember = &engine.Error{Code: engine.CodeInvalid, Message: "No member has that ID.",
		Fields: []engine.FieldError{{Field: "member_id", Message: "is not a member of this community"}}}
	// ErrUnknownActor answers AddTx with an actor who is not a user of the
	// tenant.
	ErrUnknownActor = &engine.Error{Code: engine.CodeInvalid, Message: "No member has that ID.",
		Fields: []engine.FieldError{{Field: "actor_id", Message: "is not a member of this community"}}}
)

// kindRe is a kind: a lower-case word, or a plugin's dotted one
// ("splits.settled"). The database checks the same pattern.
var kindRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$`)

// normalize trims the text fields.
func (p *AddParams) normalize() {
	p.Kind = strings.TrimSpace(p.Kind)
	p.Subject = strings.TrimSpace(p.Subject)
	p.Link = strings.TrimSpace(p.Link)
	p.Text = strings.TrimSpace(p.Text)
}

// problems reports every problem with p; data is p.Data as JSON (nil for
// none).
func (p AddParams) problems(data []byte) []engine.FieldError {
	var out []engine.FieldError
	add := func(f, m string) { out = append(out, engine.FieldError{Field: f, Message: m}) }
	if p.Member == uuid.Nil {
		add("member_id", "is required")
	}
	if !kindRe.MatchString(p.Kind) {
		add("kind", "must be a lower-case word (letters, digits, _), optionally dotted like splits.settled")
	}
	if p.Actor != nil && *p.Actor == uuid.Nil {
		add("actor_id", "must be a member's ID or absent")
	}
	if n := utf8.RuneCountInString(p.Text); n < 1 || n > MaxText || !printable(p.Text) {
		add("text", fmt.Sprintf("is required: 1 to %d characters, no control characters", MaxText))
	}
	if utf8.RuneCountInString(p.Subject) > MaxSubject || !printable(p.Subject) {
		add("subject", fmt.Sprintf("must be at most %d characters, no control characters", MaxSubject))
	}
	if p.Link != "" && !relativeLink(p.Link) {
		add("link", "must be a path of the web app starting with one /, such as /posts/123")
	}
	if p.DedupeKey != "" && (utf8.RuneCountInString(p.DedupeKey) > MaxDedupeKey || !printable(p.DedupeKey)) {
		add("dedupe_key", fmt.Sprintf("must be at most %d characters, no control characters", MaxDedupeKey))
	}
	if len(data) > MaxData {
		add("data", fmt.Sprintf("must be at most %d bytes of JSON", MaxData))
	}
	return out
}

// relativeLink reports whether s is a path on the tenant's own web app: it
// starts with exactly one slash (no scheme, no host, no "//" or "/\" that
// browsers read as another host) and has no spaces or control characters.
func relativeLink(s string) bool {
	if len(s) > MaxLink || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") ||
		strings.ContainsAny(s, `\`) || strings.ContainsFunc(s, unicode.IsSpace) || !printable(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// cursor is a position in a member's list, newest first: the seq of the
// last notification of the previous page.
type cursor struct {
	Seq int64 `json:"s"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor made by encode; "" is the first page (0).
func decodeCursor(s string) (int64, *engine.FieldError) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Seq < 1 {
		return 0, &engine.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"}
	}
	return c.Seq, nil
}

// checkLimit defaults a page size of 0 to 50 and reports one outside 1..100.
func checkLimit(limit *int) *engine.FieldError {
	if *limit == 0 {
		*limit = 50
	}
	if *limit < 1 || *limit > 100 {
		return &engine.FieldError{Field: "limit", Message: "must be between 1 and 100"}
	}
	return nil
}
