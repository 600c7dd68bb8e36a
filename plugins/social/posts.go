package social

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rules"
)

// PostParams is a new post.
type PostParams struct {
	Text string
	// Images are IDs of images the author uploaded (UploadImage) and no
	// post holds yet, in the order to show them.
	Images []uuid.UUID
	// IdempotencyKey, when set (1 to 200 characters, a UUIDv7 is best),
	// makes sending the same post again safe for 48 hours: a repeat by the
	// same member with the same key and the same text and number of images
	// publishes nothing and returns the post the key made; with other text
	// it is refused (ledger.ErrKeyReused). Image IDs are not compared: a
	// form sent twice uploads its files twice (the second uploads are left
	// unattached and the cleanup job deletes them). Empty: every call
	// publishes.
	IdempotencyKey string
}

// postRequest is what a repeated idempotency key must repeat.
type postRequest struct {
	Text   string `json:"text"`
	Images int    `json:"images"`
}

// CheckPost reports what CreatePost would refuse in a post's text and
// number of images, writing nothing: forms check the text before they
// upload the images.
// Errors: invalid.
func (s *Service) CheckPost(ctx context.Context, text string, images int) error {
	st, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	_, problems := checkText("text", text, st.MaxPostLength, st.BlockedWords, false)
	if images > st.MaxImagesPerPost {
		problems = append(problems, engine.FieldError{Field: "images", Message: fmt.Sprintf("must hold at most %d images", st.MaxImagesPerPost)})
	}
	return engine.Invalid(problems)
}

// CreatePost publishes a post by the member in ctx, in one transaction:
// the post, its images, the author's counters and badges, the
// post.created award (ref "post:{id}", key "post.created:{id}"; none
// during the tenant's new-account period) and the notifications of the
// members it mentions. With an IdempotencyKey, a repeat returns the
// first call's post (see PostParams); the key is claimed first in the
// transaction, so a concurrent repeat waits for the first and then
// replays it (lock order: the key, then as below). A repeat still counts
// against the posting rate.
// Errors: invalid (text, images, links of a new account, a reused key),
// unauthenticated, forbidden (banned, suspended), rate_limited, not_found
// (a repeat whose post is gone).
func (s *Service) CreatePost(ctx context.Context, p PostParams) (Post, error) {
	me, err := s.self(ctx)
	if err != nil {
		return Post{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return Post{}, err
	}
	text, problems := checkText("text", p.Text, st.MaxPostLength, st.BlockedWords, false)
	problems = append(problems, checkImageIDs(p.Images, st.MaxImagesPerPost)...)
	if len(p.IdempotencyKey) > 200 {
		problems = append(problems, engine.FieldError{Field: "idempotency_key", Message: "must be at most 200 characters"})
	}
	if err := engine.Invalid(problems); err != nil {
		return Post{}, err
	}
	if err := s.allow(ctx, "post", me, ratelimit.PerHour(st.PostsPerHour)); err != nil {
		return Post{}, err
	}
	var out Post
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		id := uuid.Must(uuid.NewV7())
		publish := func() (uuid.UUID, error) { return id, s.publish(ctx, tx, st, me, id, text, p.Images) }
		if p.IdempotencyKey != "" {
			var err error
			id, _, err = ledger.Idempotent(ctx, tx, ledger.Scope(ctx, "social.create-post"), p.IdempotencyKey,
				postRequest{Text: text, Images: len(p.Images)}, publish)
			if err != nil {
				return err
			}
		} else if _, err := publish(); err != nil {
			return err
		}
		var err error
		out, err = s.loadPost(ctx, tx, id, me)
		return err
	})
	return out, err
}

// publish writes post id by me in tx with all it causes (see CreatePost).
func (s *Service) publish(ctx context.Context, tx pgx.Tx, st Settings, me, id uuid.UUID, text string, images []uuid.UUID) error {
	links := hasLinks(text)
	o := &outbox{}
	w, err := s.writer(ctx, tx, me)
	if err != nil {
		return err
	}
	fresh := w.newAccount(st, s.now())
	if fresh && links {
		return engine.Invalid([]engine.FieldError{{Field: "text", Message: "cannot contain links yet: new members may post links after a while"}})
	}
	mentions, err := resolveHandles(ctx, tx, Mentions(text))
	if err != nil {
		return err
	}
	if err := insertPost(ctx, tx, newPost{ID: id, Author: me, Text: text, Mentions: mentions, HasLinks: links, Images: len(images)}); err != nil {
		return err
	}
	if err := attachImages(ctx, tx, id, me, images); err != nil {
		return err
	}
	before, after, err := bumpProfile(ctx, tx, me, counterPosts, 1)
	if err != nil {
		return err
	}
	if err := s.milestones(ctx, tx, o, me, w.Handle, "posts", before, after); err != nil {
		return err
	}
	if !fresh {
		err := s.award(ctx, tx, o, rules.Event{Type: EventPostCreated, Member: me, Ref: postRef(id), IdempotencyKey: "post.created:" + id.String(),
			Attributes: map[string]any{"length": len([]rune(text)), "images": len(images), "has_links": links,
				"account_age_hours": int64(s.now().Sub(w.CreatedAt).Hours())}}, postLink(id))
		if err != nil {
			return err
		}
	}
	s.mentioned(o, w, mentions, "post:"+id.String(), postLink(id), "mentioned you in a post")
	return s.flush(ctx, tx, o)
}

func checkImageIDs(ids []uuid.UUID, max int) []engine.FieldError {
	if len(ids) > max {
		return []engine.FieldError{{Field: "images", Message: fmt.Sprintf("must hold at most %d images", max)}}
	}
	seen := map[uuid.UUID]bool{}
	for _, id := range ids {
		if seen[id] || id == uuid.Nil {
			return []engine.FieldError{{Field: "images", Message: "must list distinct image IDs"}}
		}
		seen[id] = true
	}
	return nil
}

// mentioned queues a mention notification for each member mentioned,
// once per item (the dedupe key), never for the writer.
func (s *Service) mentioned(o *outbox, w writer, mentions map[string]uuid.UUID, subject, link, what string) {
	actor := w.MemberID
	for _, m := range mentions {
		o.add(inbox.AddParams{Member: m, Kind: "mention", Actor: &actor, Subject: subject, Link: link,
			Text: name(w) + " " + what + ".", DedupeKey: "mention:" + subject + ":" + m.String()})
	}
}

// UpdatePost replaces the text of the member's own visible post and sets
// edited_at. Newly mentioned members are notified (once per post).
// Errors: invalid, not_found, forbidden (not the author, banned,
// suspended), unauthenticated.
func (s *Service) UpdatePost(ctx context.Context, id uuid.UUID, text string) (Post, error) {
	me, err := s.self(ctx)
	if err != nil {
		return Post{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return Post{}, err
	}
	text, problems := checkText("text", text, st.MaxPostLength, st.BlockedWords, false)
	if err := engine.Invalid(problems); err != nil {
		return Post{}, err
	}
	links := hasLinks(text)
	var out Post
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		o := &outbox{}
		w, err := s.writer(ctx, tx, me)
		if err != nil {
			return err
		}
		lp, err := lockPost(ctx, tx, id)
		if err != nil {
			return err
		}
		if !lp.visible() {
			return ErrPostNotFound
		}
		if lp.AuthorID != me {
			return ErrNotAuthor
		}
		if links && w.newAccount(st, s.now()) {
			return engine.Invalid([]engine.FieldError{{Field: "text", Message: "cannot contain links yet: new members may post links after a while"}})
		}
		mentions, err := resolveHandles(ctx, tx, Mentions(text))
		if err != nil {
			return err
		}
		if err := updatePostText(ctx, tx, id, text, mentions, links); err != nil {
			return err
		}
		s.mentioned(o, w, mentions, "post:"+id.String(), postLink(id), "mentioned you in a post")
		if err := s.flush(ctx, tx, o); err != nil {
			return err
		}
		out, err = s.loadPost(ctx, tx, id, me)
		return err
	})
	return out, err
}

// DeletePost deletes the member's own post (soft: purged after the
// tenant's retention) and reverses everything it earned — the post's
// award, the like awards to its author and the comment awards to
// commenters (the ref tree "post:{id}") — in one transaction.
// Errors: not_found, forbidden (not the author), unauthenticated.
func (s *Service) DeletePost(ctx context.Context, id uuid.UUID) error {
	me, err := s.self(ctx)
	if err != nil {
		return err
	}
	return s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		// Lock order: the post, then the author's profile, then (in the
		// reversal) the wallets of everyone the post's tree paid.
		lp, err := lockPost(ctx, tx, id)
		if err != nil {
			return err
		}
		if !lp.visible() {
			return ErrPostNotFound
		}
		if lp.AuthorID != me {
			return ErrNotAuthor
		}
		if err := markPostDeleted(ctx, tx, id); err != nil {
			return err
		}
		if err := s.postGone(ctx, tx, lp); err != nil {
			return err
		}
		return s.reverse(ctx, tx, postRef(id))
	})
}

// postGone takes a post that stops being visible out of its author's
// counters.
func (s *Service) postGone(ctx context.Context, tx pgx.Tx, lp lockedPost) error {
	if _, _, err := bumpProfile(ctx, tx, lp.AuthorID, counterPosts, -1); err != nil {
		return err
	}
	if lp.LikeCount > 0 {
		if _, _, err := bumpProfile(ctx, tx, lp.AuthorID, counterLikes, -int64(lp.LikeCount)); err != nil {
			return err
		}
	}
	return nil
}

// Post returns a post as the viewer sees it. Hidden and deleted posts
// (and posts of banned members) exist only for moderators.
// Errors: not_found.
func (s *Service) Post(ctx context.Context, id uuid.UUID) (Post, error) {
	var out Post
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = s.loadPost(ctx, tx, id, viewer(ctx))
		return err
	})
	return out, err
}

// loadPost reads a post for viewer in tx, refusing what they may not see.
func (s *Service) loadPost(ctx context.Context, tx pgx.Tx, id, viewer uuid.UUID) (Post, error) {
	r, err := selectPost(ctx, tx, id, viewer)
	if err != nil {
		return Post{}, err
	}
	if !r.visible() && !s.can(ctx, PermissionModerate) {
		return Post{}, ErrPostNotFound
	}
	return s.post(ctx, r), nil
}

// post turns a row into a Post, signing its image URLs.
func (s *Service) post(ctx context.Context, r postRow) Post {
	p := Post{
		ID: r.ID, Author: Author{ID: r.AuthorID, Handle: r.Handle, DisplayName: r.DisplayName, AvatarURL: r.AvatarURL},
		Text: r.Text, Segments: Segments(r.Text, r.Mentions), Images: make([]Image, 0, len(r.Images)),
		LikeCount: r.LikeCount, CommentCount: r.CommentCount, Liked: r.Liked, CreatedAt: r.CreatedAt, EditedAt: r.EditedAt,
		HiddenAt: r.HiddenAt, HideReason: r.HideReason, DeletedAt: r.DeletedAt,
	}
	for _, im := range r.Images {
		p.Images = append(p.Images, Image{ID: im.ID, URL: s.imageURL(ctx, im.Key), ContentType: im.ContentType, Width: im.Width, Height: im.Height})
	}
	return p
}

// imageURL signs key's URL, or gives "" when there is no blob store or it
// fails (logged: the post still shows).
func (s *Service) imageURL(ctx context.Context, key string) string {
	if s.d.Blobs == nil {
		return ""
	}
	u, err := s.d.Blobs.URL(ctx, key, s.d.ImageURLTTL)
	if err != nil {
		s.d.Log.WarnContext(ctx, "sign image url", "error", err)
		return ""
	}
	return u
}

// LikeResult is a post's likes after a like or unlike.
type LikeResult struct {
	Liked     bool `json:"liked"`
	LikeCount int  `json:"like_count"`
}

// Like likes a visible post for the member in ctx; liking it again
// changes nothing. The first like of a member on a post (ever: unliking
// and liking again does not count) sends like.received to the author —
// never for your own post — with ref "post:{post}/like:{member}" and key
// "like:{post}:{member}", and notifies the author. Counts, award and
// notification commit together.
// Errors: not_found, unauthenticated, forbidden (banned, suspended),
// rate_limited.
func (s *Service) Like(ctx context.Context, post uuid.UUID) (LikeResult, error) {
	me, err := s.self(ctx)
	if err != nil {
		return LikeResult{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return LikeResult{}, err
	}
	if err := s.allow(ctx, "like", me, ratelimit.PerMinute(st.LikesPerMinute)); err != nil {
		return LikeResult{}, err
	}
	var out LikeResult
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		o := &outbox{}
		w, err := s.writer(ctx, tx, me)
		if err != nil {
			return err
		}
		// Lock order: the post row (likes of one post queue here, which
		// keeps like_count exact), the author's profile, then the author's
		// wallet (the award).
		lp, err := lockPost(ctx, tx, post)
		if err != nil {
			return err
		}
		if !lp.visible() {
			return ErrPostNotFound
		}
		out = LikeResult{Liked: true, LikeCount: lp.LikeCount}
		added, err := insertLike(ctx, tx, post, me)
		if err != nil || !added {
			return err
		}
		if out.LikeCount, err = addLikes(ctx, tx, post, 1); err != nil {
			return err
		}
		before, after, err := bumpProfile(ctx, tx, lp.AuthorID, counterLikes, 1)
		if err != nil {
			return err
		}
		if err := s.milestones(ctx, tx, o, lp.AuthorID, lp.AuthorHandle, "likes", before, after); err != nil {
			return err
		}
		first, err := insertFirstLike(ctx, tx, post, me)
		if err != nil {
			return err
		}
		if first && lp.AuthorID != me {
			actor := me
			o.add(inbox.AddParams{Member: lp.AuthorID, Kind: "like", Actor: &actor, Subject: postRef(post), Link: postLink(post),
				Text: name(w) + " liked your post.", DedupeKey: "like:" + post.String() + ":" + me.String()})
			if !lp.authorNew(st, s.now()) {
				// The request is the same on every call (no attributes, no
				// time), so a replay of the key answers the first award.
				err := s.award(ctx, tx, o, rules.Event{Type: EventLikeReceived, Member: lp.AuthorID, Actor: &actor,
					Ref: postRef(post) + "/like:" + me.String(), IdempotencyKey: "like:" + post.String() + ":" + me.String()}, postLink(post))
				if err != nil {
					return err
				}
			}
		}
		return s.flush(ctx, tx, o)
	})
	return out, err
}

// Unlike withdraws the member's like of a visible post (nothing when they
// do not like it) and reverses what that like earned the author.
// Errors: not_found, unauthenticated, forbidden (banned, suspended),
// rate_limited.
func (s *Service) Unlike(ctx context.Context, post uuid.UUID) (LikeResult, error) {
	me, err := s.self(ctx)
	if err != nil {
		return LikeResult{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return LikeResult{}, err
	}
	if err := s.allow(ctx, "like", me, ratelimit.PerMinute(st.LikesPerMinute)); err != nil {
		return LikeResult{}, err
	}
	var out LikeResult
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		if _, err := s.writer(ctx, tx, me); err != nil {
			return err
		}
		// Lock order as in Like.
		lp, err := lockPost(ctx, tx, post)
		if err != nil {
			return err
		}
		if !lp.visible() {
			return ErrPostNotFound
		}
		out = LikeResult{LikeCount: lp.LikeCount}
		removed, err := deleteLike(ctx, tx, post, me)
		if err != nil || !removed {
			return err
		}
		if out.LikeCount, err = addLikes(ctx, tx, post, -1); err != nil {
			return err
		}
		if _, _, err := bumpProfile(ctx, tx, lp.AuthorID, counterLikes, -1); err != nil {
			return err
		}
		return s.reverse(ctx, tx, postRef(post)+"/like:"+me.String())
	})
	return out, err
}

// Feed scopes.
const (
	ScopeCommunity = "community"
	ScopeFollowing = "following"
)

// FeedParams selects a page of a feed.
type FeedParams struct {
	Scope  string // community (default) or following
	Cursor string
	Limit  int // 1..50; 0 means 20
}

// FeedPage is a page of posts, newest first.
type FeedPage struct {
	Posts []Post
	Next  string // the cursor of the next page; "" on the last
}

// Feed returns a page of the community feed (every visible post) or the
// following feed (posts of the members the viewer follows, and their
// own), newest first: each post with its author, counts and whether the
// viewer likes it, in one SQL statement per page. Hidden and deleted
// posts and posts of banned or deleted members are never in a feed.
// Errors: invalid (scope, cursor, limit), unauthenticated (following).
func (s *Service) Feed(ctx context.Context, p FeedParams) (FeedPage, error) {
	var problems []engine.FieldError
	switch p.Scope {
	case "":
		p.Scope = ScopeCommunity
	case ScopeCommunity, ScopeFollowing:
	default:
		problems = append(problems, engine.FieldError{Field: "scope", Message: "must be community or following"})
	}
	after, fe := decodeCursor(p.Cursor)
	problems = append(problems, fe...)
	problems = append(problems, checkLimit(&p.Limit, 20, 50)...)
	if err := engine.Invalid(problems); err != nil {
		return FeedPage{}, err
	}
	v := viewer(ctx)
	if p.Scope == ScopeFollowing && v == uuid.Nil {
		return FeedPage{}, ErrSignIn
	}
	f := feedFilter{Viewer: v, After: after, Limit: p.Limit + 1}
	if p.Scope == ScopeFollowing {
		f.Following = true
	}
	return s.feedPage(ctx, f, p.Limit)
}

// feedPage runs one feed query (one round trip: the tenant setting and the
// query go in one pipeline) and makes the page.
func (s *Service) feedPage(ctx context.Context, f feedFilter, limit int) (FeedPage, error) {
	sql, args := feedSQL(f)
	var rows []postRow
	b := &pgx.Batch{}
	// Memoize would cache authors across a page of 20 posts with a hash
	// table sized for the whole tenant's authors: on a large tenant setting
	// it up costs several times the query itself (4.6 ms against 0.6 ms of
	// execution at 100,000 members). A page reads each author once anyway.
	b.Queue(`SET LOCAL enable_memoize = off`)
	b.Queue(sql, args)
	err := s.d.DB.InTenantBatch(ctx, b, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("feed: %w", err)
		}
		r, err := br.Query()
		if err != nil {
			return fmt.Errorf("feed: %w", err)
		}
		rows, err = pgx.CollectRows(r, pgx.RowToStructByName[postRow])
		if err != nil {
			return fmt.Errorf("feed: %w", err)
		}
		return nil
	})
	if err != nil {
		return FeedPage{}, err
	}
	page := FeedPage{Posts: make([]Post, 0, min(len(rows), limit))}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.Next = cursor{At: last.CreatedAt, ID: last.ID}.encode()
	}
	for _, r := range rows {
		page.Posts = append(page.Posts, s.post(ctx, r))
	}
	return page, nil
}

// MemberPostsParams selects a page of a member's posts.
type MemberPostsParams struct {
	Member string // ID or handle
	Cursor string
	Limit  int // 1..50; 0 means 20
}

// MemberPosts returns a page of a member's visible posts, newest first.
// Errors: invalid, not_found (no such member, or banned).
func (s *Service) MemberPosts(ctx context.Context, p MemberPostsParams) (FeedPage, error) {
	after, problems := decodeCursor(p.Cursor)
	problems = append(problems, checkLimit(&p.Limit, 20, 50)...)
	if err := engine.Invalid(problems); err != nil {
		return FeedPage{}, err
	}
	var author uuid.UUID
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		m, err := s.findMember(ctx, tx, p.Member)
		author = m.MemberID
		return err
	})
	if err != nil {
		return FeedPage{}, err
	}
	return s.feedPage(ctx, feedFilter{Viewer: viewer(ctx), Author: &author, After: after, Limit: p.Limit + 1}, p.Limit)
}

// SearchParams searches posts, for moderators.
type SearchParams struct {
	Query  string // part of the text, any case
	Cursor string
	Limit  int // 1..50; 0 means 20
}

// Search finds posts whose text contains Query (case-insensitive), newest
// first, hidden ones included (with their moderation state), for the
// console. It scans the newest posts first and stops at the page size.
// Errors: invalid, unauthenticated, forbidden.
func (s *Service) Search(ctx context.Context, p SearchParams) (FeedPage, error) {
	if _, err := s.moderator(ctx); err != nil {
		return FeedPage{}, err
	}
	after, problems := decodeCursor(p.Cursor)
	problems = append(problems, checkLimit(&p.Limit, 20, 50)...)
	q, why := normalize(p.Query)
	if why != "" || len([]rune(q)) < 2 || len([]rune(q)) > 100 {
		problems = append(problems, engine.FieldError{Field: "q", Message: "must be 2 to 100 characters"})
	}
	if err := engine.Invalid(problems); err != nil {
		return FeedPage{}, err
	}
	return s.feedPage(ctx, feedFilter{Viewer: viewer(ctx), Query: q, After: after, Limit: p.Limit + 1}, p.Limit)
}
