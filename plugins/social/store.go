package social

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
)

// --- cursors and limits

// cursor is a position in a list ordered by (created_at, id), for keyset
// pagination; opaque to clients.
type cursor struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor made by encode; "" is the first page.
func decodeCursor(s string) (*cursor, []engine.FieldError) {
	if s == "" {
		return nil, nil
	}
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && len(b) <= 200 {
		err = json.Unmarshal(b, &c)
	} else if err == nil {
		err = errors.New("too long")
	}
	if err != nil || c.ID == uuid.Nil || c.At.IsZero() || c.At.Year() < 2000 || c.At.Year() > 9999 {
		return nil, []engine.FieldError{{Field: "cursor", Message: "is not a cursor returned by this API"}}
	}
	return &c, nil
}

// checkLimit defaults a page size of 0 to def and reports one outside
// 1..max.
func checkLimit(limit *int, def, max int) []engine.FieldError {
	if *limit == 0 {
		*limit = def
	}
	if *limit < 1 || *limit > max {
		return []engine.FieldError{{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", max)}}
	}
	return nil
}

// --- settings

func selectSettings(ctx context.Context, tx pgx.Tx) (Settings, error) {
	st := DefaultSettings
	err := tx.QueryRow(ctx, `
SELECT max_post_length, max_comment_length, max_images_per_post, max_image_bytes, posts_per_hour, comments_per_hour,
	likes_per_minute, new_account_hours, blocked_words, own_post_comment_coins, show_coins, retention_days, notification_retention_days
FROM social_settings`).Scan(&st.MaxPostLength, &st.MaxCommentLength, &st.MaxImagesPerPost, &st.MaxImageBytes, &st.PostsPerHour,
		&st.CommentsPerHour, &st.LikesPerMinute, &st.NewAccountHours, &st.BlockedWords, &st.OwnPostCommentCoins, &st.ShowCoins,
		&st.RetentionDays, &st.NotificationRetentionDays)
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultSettings, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("select social settings: %w", err)
	}
	return st, nil
}

func upsertSettings(ctx context.Context, tx pgx.Tx, st Settings) error {
	_, err := tx.Exec(ctx, `
INSERT INTO social_settings (tenant_id, max_post_length, max_comment_length, max_images_per_post, max_image_bytes, posts_per_hour,
	comments_per_hour, likes_per_minute, new_account_hours, blocked_words, own_post_comment_coins, show_coins, retention_days,
	notification_retention_days, updated_at)
VALUES (current_tenant_id(), @max_post_length, @max_comment_length, @max_images_per_post, @max_image_bytes, @posts_per_hour,
	@comments_per_hour, @likes_per_minute, @new_account_hours, @blocked_words, @own_post_comment_coins, @show_coins, @retention_days,
	@notification_retention_days, now())
ON CONFLICT (tenant_id) DO UPDATE SET max_post_length = EXCLUDED.max_post_length, max_comment_length = EXCLUDED.max_comment_length,
	max_images_per_post = EXCLUDED.max_images_per_post, max_image_bytes = EXCLUDED.max_image_bytes,
	posts_per_hour = EXCLUDED.posts_per_hour, comments_per_hour = EXCLUDED.comments_per_hour,
	likes_per_minute = EXCLUDED.likes_per_minute, new_account_hours = EXCLUDED.new_account_hours,
	blocked_words = EXCLUDED.blocked_words, own_post_comment_coins = EXCLUDED.own_post_comment_coins,
	show_coins = EXCLUDED.show_coins, retention_days = EXCLUDED.retention_days,
	notification_retention_days = EXCLUDED.notification_retention_days, updated_at = now()`, pgx.NamedArgs{
		"max_post_length": st.MaxPostLength, "max_comment_length": st.MaxCommentLength, "max_images_per_post": st.MaxImagesPerPost,
		"max_image_bytes": st.MaxImageBytes, "posts_per_hour": st.PostsPerHour, "comments_per_hour": st.CommentsPerHour,
		"likes_per_minute": st.LikesPerMinute, "new_account_hours": st.NewAccountHours, "blocked_words": st.BlockedWords,
		"own_post_comment_coins": st.OwnPostCommentCoins, "show_coins": st.ShowCoins, "retention_days": st.RetentionDays,
		"notification_retention_days": st.NotificationRetentionDays,
	})
	if name, code := db.Constraint(err); code == db.CodeCheckViolation {
		return &engine.Error{Code: engine.CodeInvalid, Message: "The settings are not valid.", Err: err,
			Fields: []engine.FieldError{{Field: strings.TrimPrefix(name, "social_settings_"), Message: "is not valid"}}}
	}
	if err != nil {
		return fmt.Errorf("upsert social settings: %w", err)
	}
	return nil
}

// --- members and profiles

// memberRow is a member of the tenant with their social profile (Handle
// nil when they have none yet).
type memberRow struct {
	MemberID         uuid.UUID  `db:"member_id"`
	DisplayName      string     `db:"display_name"`
	AvatarURL        string     `db:"avatar_url"`
	EmailLocal       string     `db:"email_local"`
	Role             string     `db:"role"`
	Banned           bool       `db:"banned"`
	AccountCreatedAt time.Time  `db:"account_created_at"`
	Handle           *string    `db:"handle"`
	Bio              string     `db:"bio"`
	PostCount        int        `db:"post_count"`
	FollowerCount    int        `db:"follower_count"`
	FollowingCount   int        `db:"following_count"`
	LikesReceived    int64      `db:"likes_received"`
	SuspendedUntil   *time.Time `db:"suspended_until"`
	ProfileCreatedAt time.Time  `db:"profile_created_at"`
}

func (m memberRow) author() Author {
	a := Author{ID: m.MemberID, DisplayName: m.DisplayName, AvatarURL: m.AvatarURL}
	if m.Handle != nil {
		a.Handle = *m.Handle
	}
	return a
}

const selectMemberSQL = `SELECT u.id AS member_id, u.display_name, u.avatar_url, coalesce(split_part(u.email, '@', 1), '') AS email_local,
	m.role, m.banned_at IS NOT NULL AS banned, u.created_at AS account_created_at, p.handle, coalesce(p.bio, '') AS bio,
	coalesce(p.post_count, 0) AS post_count, coalesce(p.follower_count, 0) AS follower_count,
	coalesce(p.following_count, 0) AS following_count, coalesce(p.likes_received, 0) AS likes_received, p.suspended_until,
	coalesce(p.created_at, now()) AS profile_created_at
FROM users u
JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
LEFT JOIN social_profiles p ON p.tenant_id = u.tenant_id AND p.member_id = u.id`

func oneMember(rows pgx.Rows, err error) (memberRow, error) {
	if err != nil {
		return memberRow{}, fmt.Errorf("select member: %w", err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[memberRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return memberRow{}, ErrMemberNotFound
	}
	if err != nil {
		return memberRow{}, fmt.Errorf("select member: %w", err)
	}
	return m, nil
}

// selectMember reads an active member of the tenant with their profile.
func selectMember(ctx context.Context, tx pgx.Tx, id uuid.UUID) (memberRow, error) {
	rows, err := tx.Query(ctx, selectMemberSQL+` WHERE u.id = $1 AND u.status = 'active'`, id)
	return oneMember(rows, err)
}

// selectMemberByHandle reads an active member by handle (lower-case).
func selectMemberByHandle(ctx context.Context, tx pgx.Tx, handle string) (memberRow, error) {
	rows, err := tx.Query(ctx, selectMemberSQL+` WHERE p.handle = $1 AND u.status = 'active'`, handle)
	return oneMember(rows, err)
}

// insertProfile creates a member's profile with handle unless they have
// one or the handle is taken (the caller reads again to tell).
func insertProfile(ctx context.Context, tx pgx.Tx, member uuid.UUID, handle string) error {
	_, err := tx.Exec(ctx, `INSERT INTO social_profiles (tenant_id, member_id, handle) VALUES (current_tenant_id(), $1, $2)
ON CONFLICT DO NOTHING`, member, handle)
	if err != nil {
		return fmt.Errorf("insert profile: %w", err)
	}
	return nil
}

// The counters of a profile (column names: an allow-list, never input).
const (
	counterPosts     = "post_count"
	counterLikes     = "likes_received"
	counterFollowers = "follower_count"
	counterFollowing = "following_count"
)

// bumpProfile adds delta to a profile counter and returns it before and
// after. It locks the profile row.
func bumpProfile(ctx context.Context, tx pgx.Tx, member uuid.UUID, counter string, delta int64) (before, after int64, err error) {
	switch counter {
	case counterPosts, counterLikes, counterFollowers, counterFollowing:
	default:
		panic("social: unknown counter " + counter)
	}
	err = tx.QueryRow(ctx, `UPDATE social_profiles SET `+counter+` = `+counter+` + $2, updated_at = now() WHERE member_id = $1
RETURNING `+counter+` - $2, `+counter, member, delta).Scan(&before, &after)
	if err != nil {
		return 0, 0, fmt.Errorf("update %s: %w", counter, err)
	}
	return before, after, nil
}

func updateProfile(ctx context.Context, tx pgx.Tx, member uuid.UUID, p ProfileParams) error {
	_, err := tx.Exec(ctx, `UPDATE social_profiles SET handle = coalesce($2, handle), bio = coalesce($3, bio), updated_at = now()
WHERE member_id = $1`, member, p.Handle, p.Bio)
	if name, code := db.Constraint(err); code == db.CodeUniqueViolation && name == "social_profiles_handle_key" {
		return ErrHandleTaken
	}
	if err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	return nil
}

// resolveHandles maps the handles that name members who are not banned to
// their IDs.
func resolveHandles(ctx context.Context, tx pgx.Tx, handles []string) (map[string]uuid.UUID, error) {
	out := map[string]uuid.UUID{}
	if len(handles) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `
SELECT p.handle, p.member_id FROM social_profiles p
JOIN memberships m ON m.tenant_id = p.tenant_id AND m.user_id = p.member_id
WHERE p.handle = ANY($1) AND m.banned_at IS NULL`, handles)
	if err != nil {
		return nil, fmt.Errorf("resolve handles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var id uuid.UUID
		if err := rows.Scan(&h, &id); err != nil {
			return nil, fmt.Errorf("resolve handles: %w", err)
		}
		out[h] = id
	}
	return out, rows.Err()
}

func insertBadge(ctx context.Context, tx pgx.Tx, member uuid.UUID, badge string) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO social_badges (tenant_id, member_id, badge) VALUES (current_tenant_id(), $1, $2)
ON CONFLICT DO NOTHING`, member, badge)
	if err != nil {
		return false, fmt.Errorf("insert badge: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

type profileExtras struct {
	Badges    []Badge
	Following bool
	Coins     int64
}

// selectProfileExtras reads a profile's badges, whether viewer follows
// the member, and (when coins) the coins their social events earned and
// kept.
func selectProfileExtras(ctx context.Context, tx pgx.Tx, member, viewer uuid.UUID, coins bool) (profileExtras, error) {
	var x profileExtras
	var badges []struct {
		Key       string    `json:"key"`
		AwardedAt time.Time `json:"awarded_at"`
	}
	err := tx.QueryRow(ctx, `
SELECT coalesce((SELECT jsonb_agg(jsonb_build_object('key', b.badge, 'awarded_at', b.awarded_at) ORDER BY b.awarded_at, b.badge)
		FROM social_badges b WHERE b.member_id = $1), '[]'::jsonb),
	EXISTS (SELECT FROM social_follows f WHERE f.follower_id = $2 AND f.followee_id = $1),
	CASE WHEN $3 THEN (SELECT coalesce(sum(e.granted), 0) FROM coin_events e
		WHERE e.member_id = $1 AND e.type = ANY($4) AND e.granted > 0 AND e.reversed_at IS NULL) ELSE 0 END::bigint`,
		member, viewer, coins, []string{EventPostCreated, EventLikeReceived, EventCommentCreated}).Scan(&badges, &x.Following, &x.Coins)
	if err != nil {
		return x, fmt.Errorf("select profile extras: %w", err)
	}
	x.Badges = make([]Badge, len(badges))
	for i, b := range badges {
		x.Badges[i] = Badge{Key: b.Key, Title: badgeTitle(b.Key), AwardedAt: b.AwardedAt}
	}
	return x, nil
}

// --- posts

type imageRef struct {
	ID          uuid.UUID `json:"id"`
	Key         string    `json:"key"`
	ContentType string    `json:"content_type"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
}

// postRow is a post with its author, counts, images and the viewer's
// like, as the feed query reads it.
type postRow struct {
	ID           uuid.UUID            `db:"id"`
	AuthorID     uuid.UUID            `db:"author_id"`
	Handle       string               `db:"handle"`
	DisplayName  string               `db:"display_name"`
	AvatarURL    string               `db:"avatar_url"`
	AuthorGone   bool                 `db:"author_gone"`
	Text         string               `db:"text"`
	Mentions     map[string]uuid.UUID `db:"mentions"`
	Images       []imageRef           `db:"images"`
	LikeCount    int                  `db:"like_count"`
	CommentCount int                  `db:"comment_count"`
	Liked        bool                 `db:"liked"`
	CreatedAt    time.Time            `db:"created_at"`
	EditedAt     *time.Time           `db:"edited_at"`
	HiddenAt     *time.Time           `db:"hidden_at"`
	HideReason   string               `db:"hide_reason"`
	DeletedAt    *time.Time           `db:"deleted_at"`
}

func (r postRow) visible() bool { return r.DeletedAt == nil && r.HiddenAt == nil && !r.AuthorGone }

// postColumns reads a postRow from p (social_posts, or the same columns of
// a subquery) joined (postJoins) with pr (the author's profile), u (user),
// m (membership) and vl (the like of @viewer, by its primary key). The
// like is a join, not an EXISTS: for a prepared statement's generic plan
// PostgreSQL may turn EXISTS into a hashed subplan that reads every like
// of the viewer.
const postColumns = `p.id, p.author_id, pr.handle, u.display_name, u.avatar_url,
	(m.banned_at IS NOT NULL OR u.status <> 'active') AS author_gone, p.text, p.mentions,
	CASE WHEN p.image_count > 0 THEN coalesce((SELECT jsonb_agg(jsonb_build_object('id', i.id, 'key', i.key,
		'content_type', i.content_type, 'width', i.width, 'height', i.height) ORDER BY i.position)
		FROM social_images i WHERE i.tenant_id = p.tenant_id AND i.post_id = p.id), '[]'::jsonb) ELSE '[]'::jsonb END AS images,
	p.like_count, p.comment_count,
	vl.post_id IS NOT NULL AS liked,
	p.created_at, p.edited_at, p.hidden_at, p.hide_reason, p.deleted_at`

const postJoins = `
JOIN social_profiles pr ON pr.tenant_id = p.tenant_id AND pr.member_id = p.author_id
JOIN users u ON u.tenant_id = p.tenant_id AND u.id = p.author_id
JOIN memberships m ON m.tenant_id = p.tenant_id AND m.user_id = p.author_id`

const viewerLike = `
LEFT JOIN social_likes vl ON vl.tenant_id = p.tenant_id AND vl.post_id = p.id AND vl.member_id = @viewer`

// selectPost reads one post, whatever its state.
func selectPost(ctx context.Context, tx pgx.Tx, id, viewer uuid.UUID) (postRow, error) {
	rows, err := tx.Query(ctx, `SELECT `+postColumns+` FROM social_posts p`+postJoins+viewerLike+` WHERE p.id = @id`,
		pgx.NamedArgs{"id": id, "viewer": viewer})
	if err != nil {
		return postRow{}, fmt.Errorf("select post: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[postRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return postRow{}, ErrPostNotFound
	}
	if err != nil {
		return postRow{}, fmt.Errorf("select post: %w", err)
	}
	return r, nil
}

// feedFilter selects a feed page. Exactly one of: the community (no
// Author, not Following, no Query), one author, the viewer's following
// feed, or a text search (hidden posts included).
type feedFilter struct {
	Viewer    uuid.UUID
	Author    *uuid.UUID
	Following bool
	Query     string
	After     *cursor
	Limit     int
}

// visiblePost is what a member may see of a post's own state.
const visiblePost = `p.deleted_at IS NULL AND p.hidden_at IS NULL`

// feedSQL builds the one statement of a feed page: the posts newest first
// on an index leading with tenant_id (social_posts_feed_idx for the
// community, social_posts_author_idx per author for a profile and for each
// followed member of the following feed), each with its author, images
// and the viewer's like.
func feedSQL(f feedFilter) (string, pgx.NamedArgs) {
	args := pgx.NamedArgs{"viewer": f.Viewer}
	keyset := ""
	if f.After != nil {
		keyset = ` AND (p.created_at, p.id) < (@after_at, @after_id)`
		args["after_at"], args["after_id"] = f.After.At, f.After.ID
	}
	authorOK := ` AND m.banned_at IS NULL AND u.status = 'active'`
	// The limit is a literal (a validated small integer, so a handful of
	// statements): with a parameter, PostgreSQL's generic plan for a
	// prepared statement cannot know the page is small and may choose
	// parallel hash joins over the whole tenant.
	order := ` ORDER BY p.created_at DESC, p.id DESC LIMIT ` + strconv.Itoa(f.Limit)
	switch {
	case f.Following:
		// The page's post IDs first: each followed member's newest (at most
		// a page each, from the author index alone), merged and cut to a
		// page, so the work is bounded by follows × page on index entries;
		// then the page's posts with their authors and the viewer's likes.
		// Banned and deleted members are left out of the follows, so the cut
		// never drops their posts from a page.
		return `SELECT ` + postColumns + `
FROM (
	SELECT k.id FROM (
		SELECT f.followee_id AS author_id FROM social_follows f
		JOIN memberships fm ON fm.tenant_id = f.tenant_id AND fm.user_id = f.followee_id AND fm.banned_at IS NULL
		JOIN users fu ON fu.tenant_id = f.tenant_id AND fu.id = f.followee_id AND fu.status = 'active'
		WHERE f.follower_id = @viewer
		UNION ALL SELECT @viewer::uuid) a
	CROSS JOIN LATERAL (
		SELECT p.created_at, p.id FROM social_posts p
		WHERE p.author_id = a.author_id AND ` + visiblePost + keyset + order + `) k
	ORDER BY k.created_at DESC, k.id DESC LIMIT ` + strconv.Itoa(f.Limit) + `) k
JOIN social_posts p ON p.id = k.id` + postJoins + viewerLike + `
WHERE true` + authorOK + order, args
	case f.Author != nil:
		args["author"] = *f.Author
		return `SELECT ` + postColumns + ` FROM social_posts p` + postJoins + viewerLike + `
WHERE p.author_id = @author AND ` + visiblePost + authorOK + keyset + order, args
	case f.Query != "":
		args["q"] = "%" + likeEscaper.Replace(f.Query) + "%"
		return `SELECT ` + postColumns + ` FROM social_posts p` + postJoins + viewerLike + `
WHERE p.deleted_at IS NULL AND p.text ILIKE @q` + keyset + order, args
	default:
		return `SELECT ` + postColumns + ` FROM social_posts p` + postJoins + viewerLike + `
WHERE ` + visiblePost + authorOK + keyset + order, args
	}
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// lockedPost is what a change needs of the post it locked.
type lockedPost struct {
	AuthorID      uuid.UUID
	AuthorHandle  string
	AuthorCreated time.Time
	AuthorGone    bool
	LikeCount     int
	HiddenAt      *time.Time
	DeletedAt     *time.Time
}

func (p lockedPost) visible() bool { return p.DeletedAt == nil && p.HiddenAt == nil && !p.AuthorGone }

func (p lockedPost) authorNew(st Settings, now time.Time) bool {
	return st.NewAccountHours > 0 && now.Sub(p.AuthorCreated) < time.Duration(st.NewAccountHours)*time.Hour
}

// lockPost locks a post's row (FOR NO KEY UPDATE) for the rest of tx:
// likes, comments and moderation of one post take turns here, which keeps
// its counts exact. It is the first lock every change of a post takes.
func lockPost(ctx context.Context, tx pgx.Tx, id uuid.UUID) (lockedPost, error) {
	var p lockedPost
	err := tx.QueryRow(ctx, `
SELECT p.author_id, pr.handle, u.created_at, (m.banned_at IS NOT NULL OR u.status <> 'active'), p.like_count, p.hidden_at, p.deleted_at
FROM social_posts p`+postJoins+`
WHERE p.id = $1 FOR NO KEY UPDATE OF p`, id).Scan(&p.AuthorID, &p.AuthorHandle, &p.AuthorCreated, &p.AuthorGone, &p.LikeCount, &p.HiddenAt, &p.DeletedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrPostNotFound
	}
	if err != nil {
		return p, fmt.Errorf("lock post: %w", err)
	}
	return p, nil
}

type newPost struct {
	ID       uuid.UUID
	Author   uuid.UUID
	Text     string
	Mentions map[string]uuid.UUID
	HasLinks bool
	Images   int
}

func insertPost(ctx context.Context, tx pgx.Tx, p newPost) error {
	_, err := tx.Exec(ctx, `
INSERT INTO social_posts (tenant_id, id, author_id, text, mentions, has_links, image_count)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6)`, p.ID, p.Author, p.Text, p.Mentions, p.HasLinks, p.Images)
	if err != nil {
		return fmt.Errorf("insert post: %w", err)
	}
	return nil
}

// attachImages gives a new post the owner's unattached images, in order.
func attachImages(ctx context.Context, tx pgx.Tx, post, owner uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, `
UPDATE social_images i SET post_id = $1, position = x.n - 1
FROM unnest($3::uuid[]) WITH ORDINALITY x(id, n)
WHERE i.id = x.id AND i.owner_id = $2 AND i.post_id IS NULL`, post, owner, ids)
	if err != nil {
		return fmt.Errorf("attach images: %w", err)
	}
	if int(tag.RowsAffected()) != len(ids) {
		return engine.Invalid([]engine.FieldError{{Field: "images", Message: "must be images you uploaded that no post holds yet"}})
	}
	return nil
}

func updatePostText(ctx context.Context, tx pgx.Tx, id uuid.UUID, text string, mentions map[string]uuid.UUID, links bool) error {
	_, err := tx.Exec(ctx, `UPDATE social_posts SET text = $2, mentions = $3, has_links = $4, edited_at = now() WHERE id = $1`,
		id, text, mentions, links)
	if err != nil {
		return fmt.Errorf("update post: %w", err)
	}
	return nil
}

func markPostDeleted(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE social_posts SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, id); err != nil {
		return fmt.Errorf("delete post: %w", err)
	}
	return nil
}

// setPostHidden hides a post (by may be nil for a non-user moderator), or
// shows it again when reason is "" and by nil.
func setPostHidden(ctx context.Context, tx pgx.Tx, id uuid.UUID, by *uuid.UUID, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE social_posts SET hidden_at = CASE WHEN $4 THEN now() END, hidden_by = $2, hide_reason = $3 WHERE id = $1`,
		id, by, reason, by != nil || reason != "")
	if err != nil {
		return fmt.Errorf("hide post: %w", err)
	}
	return nil
}

func insertLike(ctx context.Context, tx pgx.Tx, post, member uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO social_likes (tenant_id, post_id, member_id) VALUES (current_tenant_id(), $1, $2)
ON CONFLICT DO NOTHING`, post, member)
	if err != nil {
		return false, fmt.Errorf("insert like: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func deleteLike(ctx context.Context, tx pgx.Tx, post, member uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM social_likes WHERE post_id = $1 AND member_id = $2`, post, member)
	if err != nil {
		return false, fmt.Errorf("delete like: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// insertFirstLike records that member liked post, and reports whether it
// is the first time.
func insertFirstLike(ctx context.Context, tx pgx.Tx, post, member uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO social_first_likes (tenant_id, post_id, member_id) VALUES (current_tenant_id(), $1, $2)
ON CONFLICT DO NOTHING`, post, member)
	if err != nil {
		return false, fmt.Errorf("insert first like: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// addLikes changes a locked post's like count (the CHECK refuses a
// negative one) and returns it.
func addLikes(ctx context.Context, tx pgx.Tx, post uuid.UUID, delta int) (int, error) {
	var n int
	if err := tx.QueryRow(ctx, `UPDATE social_posts SET like_count = like_count + $2 WHERE id = $1 RETURNING like_count`, post, delta).Scan(&n); err != nil {
		return 0, fmt.Errorf("count likes: %w", err)
	}
	return n, nil
}

func addComments(ctx context.Context, tx pgx.Tx, post uuid.UUID, delta int) error {
	if _, err := tx.Exec(ctx, `UPDATE social_posts SET comment_count = comment_count + $2 WHERE id = $1`, post, delta); err != nil {
		return fmt.Errorf("count comments: %w", err)
	}
	return nil
}

// --- images

type imageRow struct {
	ID          uuid.UUID
	Owner       uuid.UUID
	Key         string
	ContentType string
	Width       int
	Height      int
	Size        int
}

func insertImage(ctx context.Context, tx pgx.Tx, im imageRow) error {
	_, err := tx.Exec(ctx, `
INSERT INTO social_images (tenant_id, id, owner_id, key, content_type, width, height, size)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7)`, im.ID, im.Owner, im.Key, im.ContentType, im.Width, im.Height, im.Size)
	if err != nil {
		return fmt.Errorf("insert image: %w", err)
	}
	return nil
}

// --- comments

type newComment struct {
	ID       uuid.UUID
	Post     uuid.UUID
	Parent   *uuid.UUID
	Author   uuid.UUID
	Text     string
	Mentions map[string]uuid.UUID
}

func insertComment(ctx context.Context, tx pgx.Tx, c newComment) error {
	_, err := tx.Exec(ctx, `
INSERT INTO social_comments (tenant_id, id, post_id, parent_id, author_id, text, mentions)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6)`, c.ID, c.Post, c.Parent, c.Author, c.Text, c.Mentions)
	if err != nil {
		return fmt.Errorf("insert comment: %w", err)
	}
	return nil
}

// commentState is what changes need of a comment.
type commentState struct {
	ID            uuid.UUID
	PostID        uuid.UUID
	ParentID      *uuid.UUID
	AuthorID      uuid.UUID
	DeletedAt     *time.Time
	HiddenAt      *time.Time
	AuthorGone    bool
	ParentVisible bool // true for top-level comments
}

// visible reports whether members see the comment (its post aside).
func (c commentState) visible() bool {
	return c.DeletedAt == nil && c.HiddenAt == nil && !c.AuthorGone && c.ParentVisible
}

// selectCommentState reads a comment, locking its row when lock (after the
// caller locked its post).
func selectCommentState(ctx context.Context, tx pgx.Tx, id uuid.UUID, lock bool) (commentState, error) {
	sql := `
SELECT c.id, c.post_id, c.parent_id, c.author_id, c.deleted_at, c.hidden_at, (m.banned_at IS NOT NULL OR u.status <> 'active'),
	c.parent_id IS NULL OR coalesce(pc.deleted_at IS NULL AND pc.hidden_at IS NULL, false)
FROM social_comments c
JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_id
JOIN memberships m ON m.tenant_id = c.tenant_id AND m.user_id = c.author_id
LEFT JOIN social_comments pc ON pc.tenant_id = c.tenant_id AND pc.id = c.parent_id
WHERE c.id = $1`
	if lock {
		sql += ` FOR NO KEY UPDATE OF c`
	}
	var c commentState
	err := tx.QueryRow(ctx, sql, id).Scan(&c.ID, &c.PostID, &c.ParentID, &c.AuthorID, &c.DeletedAt, &c.HiddenAt, &c.AuthorGone, &c.ParentVisible)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrCommentNotFound
	}
	if err != nil {
		return c, fmt.Errorf("select comment: %w", err)
	}
	return c, nil
}

func updateCommentText(ctx context.Context, tx pgx.Tx, id uuid.UUID, text string, mentions map[string]uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE social_comments SET text = $2, mentions = $3, edited_at = now() WHERE id = $1`, id, text, mentions); err != nil {
		return fmt.Errorf("update comment: %w", err)
	}
	return nil
}

func markCommentDeleted(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE social_comments SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, id); err != nil {
		return fmt.Errorf("delete comment: %w", err)
	}
	return nil
}

func setCommentHidden(ctx context.Context, tx pgx.Tx, id uuid.UUID, by *uuid.UUID, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE social_comments SET hidden_at = CASE WHEN $4 THEN now() END, hidden_by = $2, hide_reason = $3 WHERE id = $1`,
		id, by, reason, by != nil || reason != "")
	if err != nil {
		return fmt.Errorf("hide comment: %w", err)
	}
	return nil
}

// visibleReplies counts a comment's replies members see.
func visibleReplies(ctx context.Context, tx pgx.Tx, parent uuid.UUID) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM social_comments WHERE parent_id = $1 AND deleted_at IS NULL AND hidden_at IS NULL`, parent).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count replies: %w", err)
	}
	return n, nil
}

type commentRow struct {
	ID          uuid.UUID            `db:"id"`
	PostID      uuid.UUID            `db:"post_id"`
	ParentID    *uuid.UUID           `db:"parent_id"`
	AuthorID    uuid.UUID            `db:"author_id"`
	Handle      string               `db:"handle"`
	DisplayName string               `db:"display_name"`
	AvatarURL   string               `db:"avatar_url"`
	Text        string               `db:"text"`
	Mentions    map[string]uuid.UUID `db:"mentions"`
	CreatedAt   time.Time            `db:"created_at"`
	EditedAt    *time.Time           `db:"edited_at"`
	HiddenAt    *time.Time           `db:"hidden_at"`
	HideReason  string               `db:"hide_reason"`
	ReplyCount  int                  `db:"reply_count"`
}

func (r commentRow) comment() Comment {
	return Comment{
		ID: r.ID, PostID: r.PostID, ParentID: r.ParentID,
		Author: Author{ID: r.AuthorID, Handle: r.Handle, DisplayName: r.DisplayName, AvatarURL: r.AvatarURL},
		Text:   r.Text, Segments: Segments(r.Text, r.Mentions), CreatedAt: r.CreatedAt, EditedAt: r.EditedAt,
		HiddenAt: r.HiddenAt, HideReason: r.HideReason, ReplyCount: r.ReplyCount,
	}
}

const commentColumns = `c.id, c.post_id, c.parent_id, c.author_id, pr.handle, u.display_name, u.avatar_url, c.text, c.mentions,
	c.created_at, c.edited_at, c.hidden_at, c.hide_reason,
	CASE WHEN c.parent_id IS NULL THEN (SELECT count(*) FROM social_comments r WHERE r.tenant_id = c.tenant_id AND r.parent_id = c.id
		AND r.deleted_at IS NULL AND r.hidden_at IS NULL)::integer ELSE 0 END AS reply_count`

const commentJoins = `
JOIN social_profiles pr ON pr.tenant_id = c.tenant_id AND pr.member_id = c.author_id
JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_id
JOIN memberships m ON m.tenant_id = c.tenant_id AND m.user_id = c.author_id`

const visibleComment = `c.deleted_at IS NULL AND c.hidden_at IS NULL AND m.banned_at IS NULL AND u.status = 'active'`

func loadComment(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Comment, error) {
	rows, err := tx.Query(ctx, `SELECT `+commentColumns+` FROM social_comments c`+commentJoins+` WHERE c.id = $1`, id)
	if err != nil {
		return Comment{}, fmt.Errorf("select comment: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[commentRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return Comment{}, ErrCommentNotFound
	}
	if err != nil {
		return Comment{}, fmt.Errorf("select comment: %w", err)
	}
	return r.comment(), nil
}

// commentFilter selects a page of a post's top-level comments (Parent
// nil; with up to Replies replies each) or of a comment's replies.
type commentFilter struct {
	Post    uuid.UUID
	Parent  *uuid.UUID
	After   *cursor
	Limit   int
	Replies int
}

// listComments reads a page of visible comments oldest first; a page of
// top-level comments carries their first replies, read by the same
// statement.
func listComments(ctx context.Context, tx pgx.Tx, f commentFilter) ([]Comment, error) {
	args := pgx.NamedArgs{"post": f.Post, "limit": f.Limit, "replies": f.Replies}
	keyset := ""
	if f.After != nil {
		keyset = ` AND (c.created_at, c.id) > (@after_at, @after_id)`
		args["after_at"], args["after_id"] = f.After.At, f.After.ID
	}
	var sql string
	if f.Parent != nil {
		args["parent"] = *f.Parent
		sql = `SELECT ` + commentColumns + ` FROM social_comments c` + commentJoins + `
WHERE c.parent_id = @parent AND ` + visibleComment + keyset + ` ORDER BY c.created_at, c.id LIMIT @limit`
	} else {
		sql = `WITH top AS (
	SELECT c.tenant_id, c.id FROM social_comments c` + commentJoins + `
	WHERE c.post_id = @post AND c.parent_id IS NULL AND ` + visibleComment + keyset + `
	ORDER BY c.created_at, c.id LIMIT @limit),
picked AS (
	SELECT t.tenant_id, t.id FROM top t
	UNION ALL
	SELECT r.tenant_id, r.id FROM top t CROSS JOIN LATERAL (
		SELECT c.tenant_id, c.id FROM social_comments c` + commentJoins + `
		WHERE c.tenant_id = t.tenant_id AND c.parent_id = t.id AND ` + visibleComment + `
		ORDER BY c.created_at, c.id LIMIT @replies) r)
SELECT ` + commentColumns + ` FROM picked k JOIN social_comments c ON c.tenant_id = k.tenant_id AND c.id = k.id` + commentJoins + `
ORDER BY c.created_at, c.id`
	}
	rows, err := tx.Query(ctx, sql, args)
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[commentRow])
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	out := []Comment{}
	at := map[uuid.UUID]int{}
	for _, r := range rs {
		c := r.comment()
		if f.Parent == nil && r.ParentID != nil {
			if i, ok := at[*r.ParentID]; ok {
				out[i].Replies = append(out[i].Replies, c)
			}
			continue
		}
		at[c.ID] = len(out)
		out = append(out, c)
	}
	return out, nil
}

// --- follows

func insertFollow(ctx context.Context, tx pgx.Tx, follower, followee uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO social_follows (tenant_id, follower_id, followee_id) VALUES (current_tenant_id(), $1, $2)
ON CONFLICT DO NOTHING`, follower, followee)
	if err != nil {
		return false, fmt.Errorf("insert follow: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func deleteFollow(ctx context.Context, tx pgx.Tx, follower, followee uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM social_follows WHERE follower_id = $1 AND followee_id = $2`, follower, followee)
	if err != nil {
		return false, fmt.Errorf("delete follow: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// listFollows lists a member's followers (followers) or followees, newest
// first, leaving out banned and deleted members.
func listFollows(ctx context.Context, tx pgx.Tx, member uuid.UUID, followers bool, after *cursor, limit int) ([]FollowEntry, error) {
	self, other := "f.follower_id", "f.followee_id"
	if followers {
		self, other = other, self
	}
	args := pgx.NamedArgs{"member": member, "limit": limit}
	keyset := ""
	if after != nil {
		keyset = ` AND (f.created_at, ` + other + `) < (@after_at, @after_id)`
		args["after_at"], args["after_id"] = after.At, after.ID
	}
	rows, err := tx.Query(ctx, `
SELECT `+other+`, pr.handle, u.display_name, u.avatar_url, f.created_at
FROM social_follows f
JOIN social_profiles pr ON pr.tenant_id = f.tenant_id AND pr.member_id = `+other+`
JOIN users u ON u.tenant_id = f.tenant_id AND u.id = `+other+`
JOIN memberships m ON m.tenant_id = f.tenant_id AND m.user_id = `+other+`
WHERE `+self+` = @member AND m.banned_at IS NULL AND u.status = 'active'`+keyset+`
ORDER BY f.created_at DESC, `+other+` DESC LIMIT @limit`, args)
	if err != nil {
		return nil, fmt.Errorf("list follows: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FollowEntry, error) {
		var e FollowEntry
		return e, r.Scan(&e.Member.ID, &e.Member.Handle, &e.Member.DisplayName, &e.Member.AvatarURL, &e.Since)
	})
}

// --- reports and moderation

func insertReport(ctx context.Context, tx pgx.Tx, id uuid.UUID, kind string, target, reporter uuid.UUID, reason string) error {
	_, err := tx.Exec(ctx, `
INSERT INTO social_reports (tenant_id, id, target_kind, target_id, reporter_id, reason)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5)`, id, kind, target, reporter, reason)
	if name, code := db.Constraint(err); code == db.CodeUniqueViolation && name == "social_reports_open_key" {
		return ErrAlreadyReported
	}
	if err != nil {
		return fmt.Errorf("insert report: %w", err)
	}
	return nil
}

const selectReportSQL = `
SELECT r.id, r.target_kind, r.target_id, r.reporter_id, r.reason, r.status, r.resolved_by, r.resolved_at, r.note, r.created_at,
	(SELECT count(*) FROM social_reports o WHERE o.tenant_id = r.tenant_id AND o.target_kind = r.target_kind
		AND o.target_id = r.target_id AND o.status = 'open')::integer,
	t.post_id, t.author_id, t.text, t.hidden_at, t.deleted_at, pr.handle, u.display_name, u.avatar_url
FROM social_reports r
LEFT JOIN LATERAL (
	SELECT p.id AS post_id, p.author_id, p.text, p.hidden_at, p.deleted_at FROM social_posts p
	WHERE r.target_kind = 'post' AND p.tenant_id = r.tenant_id AND p.id = r.target_id
	UNION ALL
	SELECT c.post_id, c.author_id, c.text, c.hidden_at, c.deleted_at FROM social_comments c
	WHERE r.target_kind = 'comment' AND c.tenant_id = r.tenant_id AND c.id = r.target_id) t ON true
LEFT JOIN social_profiles pr ON pr.tenant_id = r.tenant_id AND pr.member_id = t.author_id
LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = t.author_id`

func scanReport(row pgx.CollectableRow) (Report, error) {
	var r Report
	var post, author *uuid.UUID
	var text, handle, display, avatar *string
	err := row.Scan(&r.ID, &r.Target.Kind, &r.Target.ID, &r.ReporterID, &r.Reason, &r.Status, &r.ResolvedBy, &r.ResolvedAt, &r.Note,
		&r.CreatedAt, &r.TargetReports, &post, &author, &text, &r.Target.HiddenAt, &r.Target.DeletedAt, &handle, &display, &avatar)
	if err != nil {
		return r, err
	}
	if post == nil {
		r.Target.Purged = true
		return r, nil
	}
	r.Target.PostID = *post
	r.Target.Excerpt = excerpt(*text, 280)
	if author != nil && handle != nil {
		r.Target.Author = &Author{ID: *author, Handle: *handle, DisplayName: *display, AvatarURL: *avatar}
	}
	return r, nil
}

func selectReport(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Report, error) {
	rows, err := tx.Query(ctx, selectReportSQL+` WHERE r.id = $1`, id)
	if err != nil {
		return Report{}, fmt.Errorf("select report: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanReport)
	if errors.Is(err, pgx.ErrNoRows) {
		return Report{}, ErrReportNotFound
	}
	if err != nil {
		return Report{}, fmt.Errorf("select report: %w", err)
	}
	return r, nil
}

func listReports(ctx context.Context, tx pgx.Tx, status string, after *cursor, limit int) ([]Report, error) {
	args := pgx.NamedArgs{"status": status, "limit": limit}
	keyset := ""
	if after != nil {
		keyset = ` AND (r.created_at, r.id) < (@after_at, @after_id)`
		args["after_at"], args["after_id"] = after.At, after.ID
	}
	rows, err := tx.Query(ctx, selectReportSQL+` WHERE r.status = @status`+keyset+` ORDER BY r.created_at DESC, r.id DESC LIMIT @limit`, args)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanReport)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	return out, nil
}

// closeReport closes an open report; false when it is not open (or not
// there).
func closeReport(ctx context.Context, tx pgx.Tx, id uuid.UUID, status, by, note string) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE social_reports SET status = $2, resolved_by = $3, resolved_at = now(), note = $4
WHERE id = $1 AND status = 'open'`, id, status, by, note)
	if err != nil {
		return false, fmt.Errorf("close report: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// resolveTargetReports resolves every open report of a target a
// moderator acted on.
func resolveTargetReports(ctx context.Context, tx pgx.Tx, kind string, target uuid.UUID, by, note string) error {
	_, err := tx.Exec(ctx, `UPDATE social_reports SET status = 'resolved', resolved_by = $3, resolved_at = now(), note = left($4, 1000)
WHERE target_kind = $1 AND target_id = $2 AND status = 'open'`, kind, target, by, note)
	if err != nil {
		return fmt.Errorf("resolve reports: %w", err)
	}
	return nil
}

type actionRow struct {
	Actor      string
	Action     string
	TargetKind string
	TargetID   uuid.UUID
	Member     uuid.UUID
	Reason     string
	Until      *time.Time
}

func insertAction(ctx context.Context, tx pgx.Tx, a actionRow) error {
	_, err := tx.Exec(ctx, `
INSERT INTO social_moderation_actions (tenant_id, id, actor, action, target_kind, target_id, member_id, reason, until)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8)`,
		uuid.Must(uuid.NewV7()), a.Actor, a.Action, a.TargetKind, a.TargetID, a.Member, a.Reason, a.Until)
	if err != nil {
		return fmt.Errorf("record moderation action: %w", err)
	}
	return nil
}

func setSuspension(ctx context.Context, tx pgx.Tx, member uuid.UUID, until *time.Time, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE social_profiles SET suspended_until = $2, suspend_reason = $3, updated_at = now() WHERE member_id = $1`,
		member, until, reason)
	if err != nil {
		return fmt.Errorf("suspend: %w", err)
	}
	return nil
}

func selectModerationSummary(ctx context.Context, tx pgx.Tx, member uuid.UUID) (ModerationSummary, error) {
	var s ModerationSummary
	err := tx.QueryRow(ctx, `
SELECT
	(SELECT count(*) FROM social_moderation_actions a WHERE a.member_id = $1 AND a.action = 'warn')::integer,
	(SELECT count(*) FROM social_moderation_actions a WHERE a.member_id = $1 AND a.action = 'suspend')::integer,
	(SELECT count(*) FROM social_posts p WHERE p.author_id = $1 AND p.hidden_at IS NOT NULL AND p.deleted_at IS NULL)::integer,
	(SELECT count(*) FROM social_comments c WHERE c.author_id = $1 AND c.hidden_at IS NOT NULL AND c.deleted_at IS NULL)::integer,
	(SELECT count(*) FROM social_reports r WHERE r.status = 'open' AND (
		(r.target_kind = 'post' AND r.target_id IN (SELECT p.id FROM social_posts p WHERE p.author_id = $1))
		OR (r.target_kind = 'comment' AND r.target_id IN (SELECT c.id FROM social_comments c WHERE c.author_id = $1))))::integer`,
		member).Scan(&s.Warnings, &s.Suspensions, &s.HiddenPosts, &s.HiddenComments, &s.OpenReports)
	if err != nil {
		return s, fmt.Errorf("select moderation summary: %w", err)
	}
	rows, err := tx.Query(ctx, `
SELECT id, actor, action, target_kind, target_id, reason, until, created_at FROM social_moderation_actions
WHERE member_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20`, member)
	if err != nil {
		return s, fmt.Errorf("select moderation actions: %w", err)
	}
	s.Actions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ModerationAction, error) {
		var a ModerationAction
		return a, r.Scan(&a.ID, &a.Actor, &a.Action, &a.TargetKind, &a.TargetID, &a.Reason, &a.Until, &a.CreatedAt)
	})
	if err != nil {
		return s, fmt.Errorf("select moderation actions: %w", err)
	}
	return s, nil
}

// --- cleanup

// purgeItem is a row to purge with the keys of its objects.
type purgeItem struct {
	ID   uuid.UUID
	Keys []string
}

func collectPurge(rows pgx.Rows, err error) ([]purgeItem, error) {
	if err != nil {
		return nil, fmt.Errorf("select purgeable: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (purgeItem, error) {
		var it purgeItem
		return it, r.Scan(&it.ID, &it.Keys)
	})
}

// deletedPosts lists posts deleted before cutoff, with their images' keys.
func deletedPosts(ctx context.Context, tx pgx.Tx, cutoff time.Time, limit int) ([]purgeItem, error) {
	return collectPurge(tx.Query(ctx, `
SELECT p.id, coalesce((SELECT array_agg(i.key) FROM social_images i WHERE i.tenant_id = p.tenant_id AND i.post_id = p.id), '{}')
FROM social_posts p WHERE p.deleted_at < $1 ORDER BY p.deleted_at LIMIT $2`, cutoff, limit))
}

// deletePosts purges posts (their likes, comments and images go with them).
func deletePosts(ctx context.Context, tx pgx.Tx, items []purgeItem) error {
	ids := make([]uuid.UUID, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	if _, err := tx.Exec(ctx, `DELETE FROM social_posts WHERE id = ANY($1) AND deleted_at IS NOT NULL`, ids); err != nil {
		return fmt.Errorf("purge posts: %w", err)
	}
	return nil
}

// purgeComments purges up to limit comments deleted before cutoff (with
// their replies) and returns how many it purged.
func purgeComments(ctx context.Context, tx pgx.Tx, cutoff time.Time, limit int) (int, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM social_comments WHERE id IN (
	SELECT id FROM social_comments WHERE deleted_at < $1 ORDER BY deleted_at LIMIT $2)`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("purge comments: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// unattachedImages lists uploads no post took, made before before.
func unattachedImages(ctx context.Context, tx pgx.Tx, before time.Time, limit int) ([]purgeItem, error) {
	return collectPurge(tx.Query(ctx, `
SELECT id, ARRAY[key] FROM social_images WHERE post_id IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2`, before, limit))
}

func deleteImages(ctx context.Context, tx pgx.Tx, items []purgeItem) error {
	ids := make([]uuid.UUID, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	if _, err := tx.Exec(ctx, `DELETE FROM social_images WHERE id = ANY($1) AND post_id IS NULL`, ids); err != nil {
		return fmt.Errorf("purge images: %w", err)
	}
	return nil
}
