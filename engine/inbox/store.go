package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
)

type notificationRow struct {
	ID        uuid.UUID      `db:"id"`
	Seq       int64          `db:"seq"`
	Member    uuid.UUID      `db:"member_id"`
	Kind      string         `db:"kind"`
	Actor     *uuid.UUID     `db:"actor_id"`
	Subject   string         `db:"subject"`
	Link      string         `db:"link"`
	Text      string         `db:"text"`
	Data      map[string]any `db:"data"`
	CreatedAt time.Time      `db:"created_at"`
	ReadAt    *time.Time     `db:"read_at"`
}

// notification returns the row as the API shows it; times are UTC so a
// notification reads the same live and from the database.
func (r notificationRow) notification() Notification {
	n := Notification(r)
	n.CreatedAt = n.CreatedAt.UTC()
	if n.ReadAt != nil {
		t := n.ReadAt.UTC()
		n.ReadAt = &t
	}
	return n
}

const selectNotificationSQL = `SELECT id, seq, member_id, kind, actor_id, subject, link, text, data, created_at, read_at FROM notifications`

func collectNotifications(rows pgx.Rows, doing string) ([]Notification, error) {
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[notificationRow])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	out := make([]Notification, len(rs))
	for i, r := range rs {
		out[i] = r.notification()
	}
	return out, nil
}

// lockMember locks the member's inbox row for the rest of tx, creating it
// when missing, and returns the tenant of tx and the member's last seq.
// Every AddTx for a member queues here: the next seq is decided under this
// lock, so seqs follow commit order. Lock order: this row, then nothing
// else of the inbox.
func lockMember(ctx context.Context, tx pgx.Tx, member uuid.UUID) (tenant uuid.UUID, lastSeq int64, err error) {
	err = tx.QueryRow(ctx, `
INSERT INTO inbox_members (tenant_id, member_id) VALUES (current_tenant_id(), $1)
ON CONFLICT (tenant_id, member_id) DO UPDATE SET last_seq = inbox_members.last_seq
RETURNING tenant_id, last_seq`, member).Scan(&tenant, &lastSeq)
	if err != nil {
		return uuid.Nil, 0, mapError("lock member inbox", err)
	}
	return tenant, lastSeq, nil
}

// insertNotification stores n (its Seq is the member's last seq + 1),
// advances the member's last seq and sends payload on the inbox channel,
// in one statement. It returns false, doing nothing, when the member
// already has a notification with the same dedupe key. The member's row
// must be locked (lockMember).
func insertNotification(ctx context.Context, tx pgx.Tx, n Notification, data []byte, dedupeKey, payload string) (bool, error) {
	var dk *string
	if dedupeKey != "" {
		dk = &dedupeKey
	}
	rows, err := tx.Query(ctx, `
WITH n AS (
	INSERT INTO notifications (tenant_id, id, member_id, seq, kind, actor_id, subject, link, text, data, dedupe_key, created_at)
	VALUES (current_tenant_id(), @id, @member, @seq, @kind, @actor, @subject, @link, @text, @data, @dedupe_key, @created_at)
	ON CONFLICT (tenant_id, member_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
	RETURNING seq
), m AS (
	UPDATE inbox_members SET last_seq = n.seq, updated_at = now() FROM n
	WHERE inbox_members.tenant_id = current_tenant_id() AND inbox_members.member_id = @member
	RETURNING n.seq
)
SELECT pg_notify('inbox', @payload) FROM m`, pgx.NamedArgs{
		"id": n.ID, "member": n.Member, "seq": n.Seq, "kind": n.Kind, "actor": n.Actor, "subject": n.Subject,
		"link": n.Link, "text": n.Text, "data": data, "dedupe_key": dk, "created_at": n.CreatedAt, "payload": payload,
	})
	if err != nil {
		return false, mapError("insert notification", err)
	}
	inserted := 0
	for rows.Next() {
		inserted++
	}
	if err := rows.Err(); err != nil {
		return false, mapError("insert notification", err)
	}
	return inserted == 1, nil
}

// notificationChecks maps the notification table's CHECK constraints to
// the fields they guard (validation catches these first; this is the
// backstop).
var notificationChecks = map[string]string{
	"notifications_kind_check": "kind", "notifications_subject_check": "subject", "notifications_link_check": "link",
	"notifications_text_check": "text", "notifications_data_check": "data", "notifications_dedupe_key_check": "dedupe_key",
}

// mapError maps the inbox's constraint violations to engine errors, once.
func mapError(doing string, err error) error {
	name, code := db.Constraint(err)
	switch {
	case code == db.CodeForeignKeyViolation && (name == "notifications_member_fkey" || name == "inbox_members_member_fkey"):
		return &engine.Error{Code: ErrUnknownMember.Code, Message: ErrUnknownMember.Message, Fields: ErrUnknownMember.Fields, Err: err}
	case code == db.CodeForeignKeyViolation && name == "notifications_actor_fkey":
		return &engine.Error{Code: ErrUnknownActor.Code, Message: ErrUnknownActor.Message, Fields: ErrUnknownActor.Fields, Err: err}
	case code == db.CodeCheckViolation:
		if field, ok := notificationChecks[name]; ok {
			return &engine.Error{Code: engine.CodeInvalid, Message: "The notification is not valid.", Err: err,
				Fields: []engine.FieldError{{Field: field, Message: "is not valid"}}}
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// listNotifications returns up to limit of the member's notifications
// newest first, before seq (0: from the newest), only unread ones when
// unread is set.
func listNotifications(ctx context.Context, tx pgx.Tx, member uuid.UUID, unread bool, before int64, limit int) ([]Notification, error) {
	sql := selectNotificationSQL + ` WHERE member_id = $1`
	args := []any{member}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if unread {
		sql += ` AND read_at IS NULL`
	}
	if before > 0 {
		sql += ` AND seq < ` + arg(before)
	}
	sql += ` ORDER BY seq DESC LIMIT ` + arg(limit)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return collectNotifications(rows, "list notifications")
}

// notificationsSince returns up to limit of the member's notifications
// with a seq above after, oldest first.
func notificationsSince(ctx context.Context, tx pgx.Tx, member uuid.UUID, after int64, limit int) ([]Notification, error) {
	rows, err := tx.Query(ctx, selectNotificationSQL+` WHERE member_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, member, after, limit)
	if err != nil {
		return nil, fmt.Errorf("notifications since: %w", err)
	}
	return collectNotifications(rows, "notifications since")
}

// inboxState returns the member's last seq (0 when never notified) and
// unread count.
func inboxState(ctx context.Context, tx pgx.Tx, member uuid.UUID) (lastSeq, unread int64, err error) {
	err = tx.QueryRow(ctx, `
SELECT coalesce((SELECT last_seq FROM inbox_members WHERE member_id = $1), 0),
	(SELECT count(*) FROM notifications WHERE member_id = $1 AND read_at IS NULL)`, member).Scan(&lastSeq, &unread)
	if err != nil {
		return 0, 0, fmt.Errorf("inbox state: %w", err)
	}
	return lastSeq, unread, nil
}

func unreadCount(ctx context.Context, tx pgx.Tx, member uuid.UUID) (int64, error) {
	var n int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE member_id = $1 AND read_at IS NULL`, member).Scan(&n); err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// unreadCounts returns the unread count of each member that has any.
func unreadCounts(ctx context.Context, tx pgx.Tx, members []uuid.UUID) (map[uuid.UUID]int64, error) {
	rows, err := tx.Query(ctx, `
SELECT member_id, count(*) FROM notifications WHERE member_id = ANY($1) AND read_at IS NULL GROUP BY member_id`, members)
	if err != nil {
		return nil, fmt.Errorf("count unread: %w", err)
	}
	out := map[uuid.UUID]int64{}
	var id uuid.UUID
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		out[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count unread: %w", err)
	}
	return out, nil
}

// markRead marks the member's unread notifications among ids, or (ids
// nil) those up to seq upTo, read at now. It returns how many it marked.
func markRead(ctx context.Context, tx pgx.Tx, member uuid.UUID, ids []uuid.UUID, upTo int64, now time.Time) (int64, error) {
	var tag interface{ RowsAffected() int64 }
	var err error
	if ids != nil {
		tag, err = tx.Exec(ctx, `UPDATE notifications SET read_at = $3 WHERE member_id = $1 AND id = ANY($2) AND read_at IS NULL`, member, ids, now)
	} else {
		tag, err = tx.Exec(ctx, `UPDATE notifications SET read_at = $3 WHERE member_id = $1 AND seq <= $2 AND read_at IS NULL`, member, upTo, now)
	}
	if err != nil {
		return 0, fmt.Errorf("mark read: %w", err)
	}
	return tag.RowsAffected(), nil
}

// notifyUnread tells every server's hub the member's new unread count
// (delivered on commit).
func notifyUnread(ctx context.Context, tx pgx.Tx, payload string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify('inbox', $1)`, payload); err != nil {
		return fmt.Errorf("notify unread: %w", err)
	}
	return nil
}

func selectSettings(ctx context.Context, tx pgx.Tx, member uuid.UUID) (Preferences, error) {
	var s Preferences
	err := tx.QueryRow(ctx, `SELECT digest FROM inbox_members WHERE member_id = $1`, member).Scan(&s.Digest)
	if errors.Is(err, pgx.ErrNoRows) {
		return Preferences{Digest: true}, nil
	}
	if err != nil {
		return Preferences{}, fmt.Errorf("select settings: %w", err)
	}
	return s, nil
}

func upsertSettings(ctx context.Context, tx pgx.Tx, member uuid.UUID, s Preferences) error {
	_, err := tx.Exec(ctx, `
INSERT INTO inbox_members (tenant_id, member_id, digest) VALUES (current_tenant_id(), $1, $2)
ON CONFLICT (tenant_id, member_id) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()`, member, s.Digest)
	if err != nil {
		return mapError("update settings", err)
	}
	return nil
}

// deleteOlder deletes up to limit notifications created before t and
// returns how many it deleted.
func deleteOlder(ctx context.Context, tx pgx.Tx, t time.Time, limit int) (int64, error) {
	tag, err := tx.Exec(ctx, `
DELETE FROM notifications WHERE (tenant_id, id) IN (
	SELECT tenant_id, id FROM notifications WHERE created_at < $1 LIMIT $2)`, t, limit)
	if err != nil {
		return 0, fmt.Errorf("delete old notifications: %w", err)
	}
	return tag.RowsAffected(), nil
}

// digestCandidate is a member due a digest.
type digestCandidate struct {
	Member uuid.UUID `db:"member_id"`
	Email  string    `db:"email"`
	Name   string    `db:"display_name"`
}

// digestCandidates returns up to limit members (after the member ID
// after, in ID order) who want digests, have had none for day yet, are
// active with an email address and not banned, and have unread
// notifications newer than their last digest.
func digestCandidates(ctx context.Context, tx pgx.Tx, day string, after uuid.UUID, limit int) ([]digestCandidate, error) {
	rows, err := tx.Query(ctx, `
SELECT m.member_id, u.email, u.display_name
FROM inbox_members m
JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.member_id
JOIN memberships ms ON ms.tenant_id = m.tenant_id AND ms.user_id = m.member_id
WHERE m.digest AND (m.last_digest_day IS NULL OR m.last_digest_day < $1::date)
	AND u.status = 'active' AND u.email IS NOT NULL AND ms.banned_at IS NULL AND m.member_id > $2
	AND EXISTS (SELECT FROM notifications n WHERE n.tenant_id = m.tenant_id AND n.member_id = m.member_id
		AND n.read_at IS NULL AND n.seq > m.last_digest_seq)
ORDER BY m.member_id
LIMIT $3`, day, after, limit)
	if err != nil {
		return nil, fmt.Errorf("find digest members: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[digestCandidate])
	if err != nil {
		return nil, fmt.Errorf("find digest members: %w", err)
	}
	return out, nil
}

// digestClaim is a member's digest claimed for a day: what it covers
// (seqs after PrevSeq up to UpTo) and what the claim replaced.
type digestClaim struct {
	UpTo    int64
	PrevSeq int64
	PrevDay *string // YYYY-MM-DD
	PrevAt  *time.Time
}

// claimDigest records that the member's digest for day is made at now and
// covers the notifications up to the member's last seq, unless one was
// already made for day (or the member opted out meanwhile): ok false. It
// locks the member's inbox row, so AddTx waits and last_seq is exactly
// what has committed. The conditional update makes two runs of the same
// day's job send one digest.
func claimDigest(ctx context.Context, tx pgx.Tx, member uuid.UUID, day string, now time.Time) (c digestClaim, ok bool, err error) {
	err = tx.QueryRow(ctx, `
UPDATE inbox_members m SET last_digest_day = $2::date, last_digest_at = $3, last_digest_seq = m.last_seq, updated_at = now()
FROM (SELECT member_id, last_digest_day, last_digest_at, last_digest_seq FROM inbox_members WHERE member_id = $1 FOR UPDATE) prev
WHERE m.member_id = prev.member_id AND m.digest AND (prev.last_digest_day IS NULL OR prev.last_digest_day < $2::date)
RETURNING m.last_seq, prev.last_digest_seq, prev.last_digest_day::text, prev.last_digest_at`, member, day, now).
		Scan(&c.UpTo, &c.PrevSeq, &c.PrevDay, &c.PrevAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return digestClaim{}, false, nil
	}
	if err != nil {
		return digestClaim{}, false, fmt.Errorf("claim digest: %w", err)
	}
	return c, true, nil
}

// releaseDigest undoes claimDigest when the email could not be sent, so a
// retry of the job sends it.
func releaseDigest(ctx context.Context, tx pgx.Tx, member uuid.UUID, day string, now time.Time, c digestClaim) error {
	_, err := tx.Exec(ctx, `
UPDATE inbox_members SET last_digest_day = $4::date, last_digest_at = $5, last_digest_seq = $6
WHERE member_id = $1 AND last_digest_day = $2::date AND last_digest_at = $3`, member, day, now, c.PrevDay, c.PrevAt, c.PrevSeq)
	if err != nil {
		return fmt.Errorf("release digest: %w", err)
	}
	return nil
}

// digestItems returns the member's unread notifications with a seq in
// (after, upTo], newest first, up to limit, and how many there are in all.
func digestItems(ctx context.Context, tx pgx.Tx, member uuid.UUID, after, upTo int64, limit int) ([]Notification, int64, error) {
	const where = ` WHERE member_id = $1 AND read_at IS NULL AND seq > $2 AND seq <= $3`
	var total int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM notifications`+where, member, after, upTo).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count digest items: %w", err)
	}
	rows, err := tx.Query(ctx, selectNotificationSQL+where+` ORDER BY seq DESC LIMIT $4`, member, after, upTo, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("digest items: %w", err)
	}
	items, err := collectNotifications(rows, "digest items")
	return items, total, err
}
