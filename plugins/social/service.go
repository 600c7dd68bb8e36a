package social

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rules"
)

// Permissions of the social operations (see engine/authz/policy.csv).
const (
	PermissionModerate = "social:moderate" // moderators and up: reports, hide, restore, delete, warn, suspend
	PermissionManage   = "social:manage"   // admins and up: the community's social settings
)

// settingsTTL bounds how long a server uses a tenant's cached settings
// after another server changed them.
const settingsTTL = 30 * time.Second

type cachedSettings struct {
	s      Settings
	loaded time.Time
}

func (s *Service) now() time.Time { return s.d.Now() }

// self returns the signed-in member acting in ctx.
// Errors: unauthenticated.
func (s *Service) self(ctx context.Context) (uuid.UUID, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || p.Kind != engine.PrincipalUser || p.UserID == uuid.Nil {
		return uuid.Nil, ErrSignIn
	}
	return p.UserID, nil
}

// viewer returns the signed-in member in ctx, or uuid.Nil for anyone else
// (an API key, a platform admin): what "liked" and "following" are about.
func viewer(ctx context.Context) uuid.UUID {
	if p, ok := engine.PrincipalFrom(ctx); ok && p.Kind == engine.PrincipalUser {
		return p.UserID
	}
	return uuid.Nil
}

// can reports whether the principal in ctx holds permission.
func (s *Service) can(ctx context.Context, permission string) bool {
	p, ok := engine.PrincipalFrom(ctx)
	return ok && s.d.Authz.Can(p, permission)
}

// moderator returns the principal in ctx when it may moderate.
// Errors: unauthenticated, forbidden.
func (s *Service) moderator(ctx context.Context) (engine.Principal, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok {
		return engine.Principal{}, ErrSignIn
	}
	if !s.d.Authz.Can(p, PermissionModerate) {
		return engine.Principal{}, ErrForbidden
	}
	return p, nil
}

// Settings returns the tenant's social settings (from a per-server cache
// refreshed every 30 seconds and on change).
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	tenant, ok := engine.TenantFrom(ctx)
	if !ok {
		return Settings{}, ErrMemberNotFound
	}
	s.mu.RLock()
	c, ok := s.settings[tenant]
	s.mu.RUnlock()
	if ok && s.now().Sub(c.loaded) < settingsTTL {
		return c.s, nil
	}
	var st Settings
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		st, err = selectSettings(ctx, tx)
		return err
	})
	if err != nil {
		return Settings{}, err
	}
	s.mu.Lock()
	s.settings[tenant] = cachedSettings{s: st, loaded: s.now()}
	s.mu.Unlock()
	return st, nil
}

// Validate reports every problem with st, and normalises its blocked
// words.
func (st *Settings) Validate() error {
	var problems []engine.FieldError
	add := func(f, m string) { problems = append(problems, engine.FieldError{Field: f, Message: m}) }
	between := func(f string, v, lo, hi int) {
		if v < lo || v > hi {
			add(f, fmt.Sprintf("must be from %d to %d", lo, hi))
		}
	}
	between("max_post_length", st.MaxPostLength, 1, 10000)
	between("max_comment_length", st.MaxCommentLength, 1, 10000)
	between("max_images_per_post", st.MaxImagesPerPost, 0, 10)
	between("max_image_bytes", st.MaxImageBytes, 1024, 20<<20)
	between("posts_per_hour", st.PostsPerHour, 1, 10000)
	between("comments_per_hour", st.CommentsPerHour, 1, 10000)
	between("likes_per_minute", st.LikesPerMinute, 1, 10000)
	between("new_account_hours", st.NewAccountHours, 0, 8760)
	between("retention_days", st.RetentionDays, 1, 3650)
	between("notification_retention_days", st.NotificationRetentionDays, 1, 3650)
	words, wp := cleanWords(st.BlockedWords)
	problems = append(problems, wp...)
	if len(words) > 1000 {
		add("blocked_words", "must hold at most 1000 words")
	}
	st.BlockedWords = words
	return engine.Invalid(problems)
}

// UpdateSettings replaces the tenant's social settings, audited with what
// they were. New limits apply to this server at once and to others within
// 30 seconds.
// Errors: invalid, unauthenticated, forbidden.
func (s *Service) UpdateSettings(ctx context.Context, st Settings) (Settings, error) {
	if p, ok := engine.PrincipalFrom(ctx); !ok || !s.d.Authz.Can(p, PermissionManage) {
		if !ok {
			return Settings{}, ErrSignIn
		}
		return Settings{}, ErrForbidden
	}
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		before, err := selectSettings(ctx, tx)
		if err != nil {
			return err
		}
		if err := upsertSettings(ctx, tx, st); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "social.settings_changed", "settings:social", map[string]any{"from": before, "to": st})
	})
	if err != nil {
		return Settings{}, err
	}
	if tenant, ok := engine.TenantFrom(ctx); ok {
		s.mu.Lock()
		delete(s.settings, tenant)
		s.mu.Unlock()
	}
	return st, nil
}

// RateLimitError is an action refused by one of the tenant's per-member
// limits (posts per hour, comments per hour, likes per minute). It wraps
// an engine.Error with code rate_limited; Decision says when to retry.
type RateLimitError struct {
	Decision ratelimit.Decision
	err      error
}

func (e *RateLimitError) Error() string { return e.err.Error() }

// Unwrap returns the engine.Error.
func (e *RateLimitError) Unwrap() error { return e.err }

// allow takes a token of the member's bucket for action.
// Errors: rate_limited (*RateLimitError).
func (s *Service) allow(ctx context.Context, action string, member uuid.UUID, lim ratelimit.Limit) error {
	tenant, _ := engine.TenantFrom(ctx)
	d := s.d.Limiter.Allow("social:"+action+":"+tenant.String()+":"+member.String(), lim)
	if d.Allowed {
		return nil
	}
	return &RateLimitError{Decision: d, err: ratelimit.Refused(d)}
}

// writer is the member acting in a write: their profile exists (created
// now if needed), they are active, not banned and not suspended.
type writer struct {
	MemberID    uuid.UUID
	Handle      string
	DisplayName string
	CreatedAt   time.Time // of the account
}

// newAccount reports whether the member is within the tenant's
// new-account period.
func (w writer) newAccount(st Settings, now time.Time) bool {
	return st.NewAccountHours > 0 && now.Sub(w.CreatedAt) < time.Duration(st.NewAccountHours)*time.Hour
}

// writer loads (creating the profile when missing) the member who writes
// and refuses a banned or suspended one.
// Errors: not_found (no such active member), forbidden.
func (s *Service) writer(ctx context.Context, tx pgx.Tx, member uuid.UUID) (writer, error) {
	m, err := s.ensureProfile(ctx, tx, member)
	if err != nil {
		return writer{}, err
	}
	if m.Banned {
		return writer{}, ErrBanned
	}
	if m.SuspendedUntil != nil && m.SuspendedUntil.After(s.now()) {
		return writer{}, suspended(*m.SuspendedUntil)
	}
	return writer{MemberID: m.MemberID, Handle: *m.Handle, DisplayName: m.DisplayName, CreatedAt: m.AccountCreatedAt}, nil
}

// ensureProfile returns a member's profile, creating it with a unique
// handle derived from their display name or email when they have none.
// Errors: not_found (no such active member).
func (s *Service) ensureProfile(ctx context.Context, tx pgx.Tx, member uuid.UUID) (memberRow, error) {
	m, err := selectMember(ctx, tx, member)
	if err != nil {
		return memberRow{}, err
	}
	base := handleBase(m.DisplayName, m.EmailLocal)
	for i := 0; m.Handle == nil; i++ {
		h := base
		switch {
		case i == 0:
		case i < 5:
			h = fmt.Sprintf("%s%d", base, i+1)
		case i < 20:
			h = fmt.Sprintf("%s_%04d", base, uuid.New().ID()%10000)
		default:
			return memberRow{}, fmt.Errorf("no free handle for %s", base)
		}
		if err := insertProfile(ctx, tx, member, h); err != nil {
			return memberRow{}, err
		}
		// Created now, or by a concurrent transaction, or the handle is
		// taken: read again.
		if m, err = selectMember(ctx, tx, member); err != nil {
			return memberRow{}, err
		}
	}
	return m, nil
}

// outbox collects a transaction's notifications and stores them at its
// end, sorted by member, so that two transactions notifying the same
// members lock their inboxes in the same order.
type outbox struct {
	list []inbox.AddParams
}

func (o *outbox) add(p inbox.AddParams) {
	if p.Actor != nil && *p.Actor == p.Member {
		return // no self-notifications
	}
	o.list = append(o.list, p)
}

func (s *Service) flush(ctx context.Context, tx pgx.Tx, o *outbox) error {
	if s.d.Notifier == nil || len(o.list) == 0 {
		return nil
	}
	slices.SortStableFunc(o.list, func(a, b inbox.AddParams) int { return slices.Compare(a.Member[:], b.Member[:]) })
	for _, p := range o.list {
		if _, _, err := s.d.Notifier.AddTx(ctx, tx, p); err != nil {
			return fmt.Errorf("notify %s: %w", p.Kind, err)
		}
	}
	o.list = nil
	return nil
}

// coinReasons word the coins notification of each event type.
var coinReasons = map[string]string{
	EventPostCreated:    "your post",
	EventLikeReceived:   "a like on your post",
	EventCommentCreated: "your comment",
}

// award sends e to the rules engine in tx and, when coins were granted now
// (not replayed), queues the coins notification. The award locks the
// member's wallet: callers lock posts, comments and profiles first.
func (s *Service) award(ctx context.Context, tx pgx.Tx, o *outbox, e rules.Event, link string) error {
	d, err := s.d.Rules.AwardTx(ctx, tx, e)
	if err != nil {
		return fmt.Errorf("award %s: %w", e.Type, err)
	}
	if d.Granted > 0 && !d.Replayed {
		data := map[string]any{"coins": d.Granted, "reason": e.Type}
		if d.Balance != nil {
			data["balance"] = *d.Balance
		}
		o.add(inbox.AddParams{Member: e.Member, Kind: "coins", Subject: e.Ref, Link: link, Data: data,
			Text: fmt.Sprintf("You earned %d coins for %s.", d.Granted, coinReasons[e.Type])})
	}
	return nil
}

// reverse takes back every award of ref and its children, in tx, with a
// fresh idempotency key (reversing an already reversed ref does nothing).
func (s *Service) reverse(ctx context.Context, tx pgx.Tx, ref string) error {
	if _, err := s.d.Rules.ReverseRefTx(ctx, tx, ref, "social-reverse:"+uuid.Must(uuid.NewV7()).String()); err != nil {
		return fmt.Errorf("reverse %s: %w", ref, err)
	}
	return nil
}

// Badges are the milestones a member can reach, with what counts.
var badges = []struct {
	Key, Title string
	Counter    string // posts, likes, followers
	At         int64
}{
	{"first_post", "First post", "posts", 1},
	{"posts_10", "10 posts", "posts", 10},
	{"posts_100", "100 posts", "posts", 100},
	{"likes_received_10", "10 likes received", "likes", 10},
	{"likes_received_100", "100 likes received", "likes", 100},
	{"likes_received_1000", "1000 likes received", "likes", 1000},
	{"followers_10", "10 followers", "followers", 10},
	{"followers_100", "100 followers", "followers", 100},
}

func badgeTitle(key string) string {
	for _, b := range badges {
		if b.Key == key {
			return b.Title
		}
	}
	return key
}

// milestones awards the badges whose threshold a counter crossed going
// from before to after, once each (the badges' primary key), and queues a
// "social.badge" notification for each new one.
func (s *Service) milestones(ctx context.Context, tx pgx.Tx, o *outbox, member uuid.UUID, handle, counter string, before, after int64) error {
	for _, b := range badges {
		if b.Counter != counter || before >= b.At || after < b.At {
			continue
		}
		added, err := insertBadge(ctx, tx, member, b.Key)
		if err != nil {
			return err
		}
		if added {
			o.add(inbox.AddParams{Member: member, Kind: "social.badge", Subject: "badge:" + b.Key, Link: "/members/" + handle,
				Text: "You earned the badge “" + b.Title + "”.", Data: map[string]any{"badge": b.Key}, DedupeKey: "badge:" + b.Key})
		}
	}
	return nil
}

func postLink(id uuid.UUID) string { return "/posts/" + id.String() }

func postRef(id uuid.UUID) string { return "post:" + id.String() }

func commentRef(post, comment uuid.UUID) string {
	return "post:" + post.String() + "/comment:" + comment.String()
}

// name is how notifications call a member.
func name(w writer) string {
	if strings.TrimSpace(w.DisplayName) != "" {
		return w.DisplayName
	}
	return "@" + w.Handle
}
