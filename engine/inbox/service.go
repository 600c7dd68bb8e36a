package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/notify"
)

// Service stores members' notifications and answers for them. Methods act
// on the tenant in ctx; the member methods (List, Since, UnreadCount,
// MarkRead, MarkAllRead, Settings, SetSettings) act for the signed-in user
// of the principal in ctx.
type Service struct {
	db  *db.DB
	cfg Config
}

// Config configures the Service. Only SendDigests needs Mailer and
// WebURL; without them it fails (and nothing else does).
type Config struct {
	// Mailer sends digest emails.
	Mailer notify.Mailer
	// WebURL returns the root URL (no trailing slash) of the web app of
	// the tenant in ctx, for the links of digest emails. ctx carries the
	// tenant's ID (engine.TenantFrom), as a job's does.
	WebURL func(ctx context.Context) string
	// TenantName returns the display name of the tenant in ctx, the
	// sender's name of digests (default "Guildhall").
	TenantName func(ctx context.Context) string
	// Now is the clock of created_at, read_at and digests (default
	// time.Now).
	Now func() time.Time
	// Log receives digest delivery failures (default: discarded).
	Log *slog.Logger
}

// NewService returns the inbox service.
func NewService(d *db.DB, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TenantName == nil {
		cfg.TenantName = func(context.Context) string { return "Guildhall" }
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, cfg: cfg}
}

// now is the service's clock at the database's precision (microseconds),
// so a time written reads back equal.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// AddTx stores a notification for p.Member in tx, a transaction of the
// caller's scoped to the tenant in ctx (a plugin calls it while inserting
// the like that causes it). It takes the member's inbox row lock for the
// rest of tx (see lockMember), numbers the notification (seq), and
// announces it on the inbox channel: PostgreSQL delivers that to every
// server's Hub when tx commits, and never when it rolls back, so a
// notification is pushed only once it is stored.
//
// With a DedupeKey the member already has, nothing is stored or pushed and
// added is false; the returned Notification is then the zero value.
// Errors: invalid (every field problem; ErrUnknownMember, ErrUnknownActor
// — which also abort tx, as any failed statement does).
func (s *Service) AddTx(ctx context.Context, tx pgx.Tx, p AddParams) (n Notification, added bool, err error) {
	p.normalize()
	var data []byte
	if len(p.Data) > 0 {
		if data, err = json.Marshal(p.Data); err != nil {
			return Notification{}, false, engine.Invalid([]engine.FieldError{{Field: "data", Message: "must be a JSON object"}})
		}
	}
	if err := engine.Invalid(p.problems(data)); err != nil {
		return Notification{}, false, err
	}
	tenant, last, err := lockMember(ctx, tx, p.Member)
	if err != nil {
		return Notification{}, false, err
	}
	n = Notification{
		ID: uuid.Must(uuid.NewV7()), Seq: last + 1, Member: p.Member, Kind: p.Kind, Actor: p.Actor,
		Subject: p.Subject, Link: p.Link, Text: p.Text, CreatedAt: s.now(),
	}
	if data != nil {
		// As it reads back from the database (numbers become float64).
		if err := json.Unmarshal(data, &n.Data); err != nil {
			return Notification{}, false, fmt.Errorf("decode data: %w", err)
		}
	}
	msg, _, err := notificationPayload(tenant, n)
	if err != nil {
		return Notification{}, false, err
	}
	added, err = insertNotification(ctx, tx, n, data, p.DedupeKey, msg)
	if err != nil || !added {
		return Notification{}, false, err
	}
	return n, true, nil
}

// self returns the signed-in user of ctx.
func self(ctx context.Context) (uuid.UUID, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || p.Kind != engine.PrincipalUser || p.UserID == uuid.Nil {
		return uuid.Nil, ErrSignedOut
	}
	return p.UserID, nil
}

// List returns a page of the signed-in member's notifications, newest
// first (by seq), only unread ones with p.Unread.
// Errors: unauthenticated, invalid (limit, cursor).
func (s *Service) List(ctx context.Context, p ListParams) (Page, error) {
	me, err := self(ctx)
	if err != nil {
		return Page{}, err
	}
	var problems []engine.FieldError
	if fe := checkLimit(&p.Limit); fe != nil {
		problems = append(problems, *fe)
	}
	before, fe := decodeCursor(p.Cursor)
	if fe != nil {
		problems = append(problems, *fe)
	}
	if err := engine.Invalid(problems); err != nil {
		return Page{}, err
	}
	var page Page
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		ns, err := listNotifications(ctx, tx, me, p.Unread, before, p.Limit+1)
		if err != nil {
			return err
		}
		if len(ns) > p.Limit {
			ns = ns[:p.Limit]
			page.Next = cursor{Seq: ns[len(ns)-1].Seq}.encode()
		}
		page.Notifications = ns
		return nil
	})
	return page, err
}

// Since returns the signed-in member's notifications with a seq above
// afterSeq, oldest first, up to limit (1..100; 0 means 50): what a client
// that saw afterSeq missed. Notifications deleted by retention are gone.
// Errors: unauthenticated, invalid.
func (s *Service) Since(ctx context.Context, afterSeq int64, limit int) ([]Notification, error) {
	me, err := self(ctx)
	if err != nil {
		return nil, err
	}
	var problems []engine.FieldError
	if fe := checkLimit(&limit); fe != nil {
		problems = append(problems, *fe)
	}
	if afterSeq < 0 {
		problems = append(problems, engine.FieldError{Field: "after", Message: "must be 0 or more"})
	}
	if err := engine.Invalid(problems); err != nil {
		return nil, err
	}
	return s.since(ctx, me, afterSeq, limit)
}

func (s *Service) since(ctx context.Context, member uuid.UUID, after int64, limit int) ([]Notification, error) {
	var out []Notification
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = notificationsSince(ctx, tx, member, after, limit)
		return err
	})
	return out, err
}

// UnreadCount returns how many of the signed-in member's notifications are
// unread.
// Errors: unauthenticated.
func (s *Service) UnreadCount(ctx context.Context) (int64, error) {
	me, err := self(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		n, err = unreadCount(ctx, tx, me)
		return err
	})
	return n, err
}

// MaxMarkIDs is how many notifications MarkRead takes at once.
const MaxMarkIDs = 100

// MarkRead marks the signed-in member's notifications with these IDs
// read. IDs of read notifications, and of notifications that are not the
// member's, are skipped: marking is idempotent. The member's live
// connections (on every server) learn the new unread count.
// Errors: unauthenticated, invalid (no IDs, too many).
func (s *Service) MarkRead(ctx context.Context, ids []uuid.UUID) (ReadResult, error) {
	me, err := self(ctx)
	if err != nil {
		return ReadResult{}, err
	}
	if len(ids) == 0 || len(ids) > MaxMarkIDs {
		return ReadResult{}, engine.Invalid([]engine.FieldError{{Field: "ids", Message: fmt.Sprintf("must list 1 to %d notification IDs", MaxMarkIDs)}})
	}
	return s.markRead(ctx, me, ids, 0)
}

// MarkAllRead marks every notification of the signed-in member up to
// upToSeq (the newest seq the member has seen) read; notifications that
// arrived after it stay unread. It is idempotent.
// Errors: unauthenticated, invalid (upToSeq below 1).
func (s *Service) MarkAllRead(ctx context.Context, upToSeq int64) (ReadResult, error) {
	me, err := self(ctx)
	if err != nil {
		return ReadResult{}, err
	}
	if upToSeq < 1 {
		return ReadResult{}, engine.Invalid([]engine.FieldError{{Field: "up_to_seq", Message: "must be 1 or more"}})
	}
	return s.markRead(ctx, me, nil, upToSeq)
}

// markRead marks ids (or, ids nil, up to seq upTo) of member read and,
// when any changed, announces the new unread count on the inbox channel.
func (s *Service) markRead(ctx context.Context, member uuid.UUID, ids []uuid.UUID, upTo int64) (ReadResult, error) {
	tenant, ok := engine.TenantFrom(ctx)
	if !ok {
		return ReadResult{}, db.ErrNoTenant
	}
	var res ReadResult
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		if res.Marked, err = markRead(ctx, tx, member, ids, upTo, s.now()); err != nil {
			return err
		}
		if res.Unread, err = unreadCount(ctx, tx, member); err != nil {
			return err
		}
		if res.Marked == 0 {
			return nil
		}
		return notifyUnread(ctx, tx, unreadPayload(tenant, member, res.Unread))
	})
	if err != nil {
		return ReadResult{}, err
	}
	return res, nil
}

// Settings returns the signed-in member's notification settings (the
// defaults when they never chose any).
// Errors: unauthenticated.
func (s *Service) Settings(ctx context.Context) (Preferences, error) {
	me, err := self(ctx)
	if err != nil {
		return Preferences{}, err
	}
	var out Preferences
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		out, err = selectSettings(ctx, tx, me)
		return err
	})
	return out, err
}

// SetSettings replaces the signed-in member's notification settings.
// Errors: unauthenticated.
func (s *Service) SetSettings(ctx context.Context, set Preferences) (Preferences, error) {
	me, err := self(ctx)
	if err != nil {
		return Preferences{}, err
	}
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error { return upsertSettings(ctx, tx, me, set) })
	if err != nil {
		return Preferences{}, err
	}
	return set, nil
}

// deleteBatch is how many notifications one retention transaction deletes.
const deleteBatch = 5000

// DeleteOlder deletes the tenant's notifications created before t, read or
// not, in transactions of deleteBatch rows (a retention job runs it), and
// returns how many it deleted. Seqs are not reused: members' last seqs
// stay. A client resuming after a deleted seq simply gets what is left.
func (s *Service) DeleteOlder(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
			var err error
			n, err = deleteOlder(ctx, tx, before, deleteBatch)
			return err
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < deleteBatch {
			return total, nil
		}
	}
}

// liveState returns what a live connection starts from: the member's last
// seq and unread count.
func (s *Service) liveState(ctx context.Context, member uuid.UUID) (lastSeq, unread int64, err error) {
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		lastSeq, unread, err = inboxState(ctx, tx, member)
		return err
	})
	return lastSeq, unread, err
}

// unreadCounts returns the unread counts of members of the tenant in ctx
// (members with none are absent).
func (s *Service) unreadCounts(ctx context.Context, members []uuid.UUID) (map[uuid.UUID]int64, error) {
	var out map[uuid.UUID]int64
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = unreadCounts(ctx, tx, members)
		return err
	})
	return out, err
}
