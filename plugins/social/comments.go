package social

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rules"
)

// CommentParams is a new comment, or a reply when Parent is set.
type CommentParams struct {
	Post   uuid.UUID
	Parent *uuid.UUID // a top-level comment of the same post
	Text   string
}

// repliesShown is how many replies a comment page carries per comment;
// Replies pages through the rest.
const repliesShown = 20

// CreateComment comments on a visible post (or replies to a top-level
// comment of it) as the member in ctx, in one transaction: the comment,
// the post's comment count, the notifications (reply to the parent's
// author, comment to the post's author, mention to each member mentioned)
// and the comment.created award (ref "post:{post}/comment:{id}", key
// "comment.created:{id}"; none on your own post unless the tenant says so,
// none during the new-account period).
// Errors: invalid, not_found, unauthenticated, forbidden (banned,
// suspended), rate_limited.
func (s *Service) CreateComment(ctx context.Context, p CommentParams) (Comment, error) {
	me, err := s.self(ctx)
	if err != nil {
		return Comment{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return Comment{}, err
	}
	text, problems := checkText("text", p.Text, st.MaxCommentLength, st.BlockedWords, false)
	if err := engine.Invalid(problems); err != nil {
		return Comment{}, err
	}
	if err := s.allow(ctx, "comment", me, ratelimit.PerHour(st.CommentsPerHour)); err != nil {
		return Comment{}, err
	}
	id := uuid.Must(uuid.NewV7())
	links := hasLinks(text)
	var out Comment
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		o := &outbox{}
		w, err := s.writer(ctx, tx, me)
		if err != nil {
			return err
		}
		fresh := w.newAccount(st, s.now())
		if fresh && links {
			return engine.Invalid([]engine.FieldError{{Field: "text", Message: "cannot contain links yet: new members may post links after a while"}})
		}
		// Lock order: the post (its comment count), then the parent comment
		// (read only), then the commenter's wallet (the award).
		lp, err := lockPost(ctx, tx, p.Post)
		if err != nil {
			return err
		}
		if !lp.visible() {
			return ErrPostNotFound
		}
		var parent *commentState
		if p.Parent != nil {
			c, err := selectCommentState(ctx, tx, *p.Parent, false)
			if err != nil || c.PostID != p.Post || !c.visible() {
				return engine.Invalid([]engine.FieldError{{Field: "parent_id", Message: "is not a comment of this post"}})
			}
			if c.ParentID != nil {
				return ErrReplyDepth
			}
			parent = &c
		}
		mentions, err := resolveHandles(ctx, tx, Mentions(text))
		if err != nil {
			return err
		}
		if err := insertComment(ctx, tx, newComment{ID: id, Post: p.Post, Parent: p.Parent, Author: me, Text: text, Mentions: mentions}); err != nil {
			return err
		}
		if err := addComments(ctx, tx, p.Post, 1); err != nil {
			return err
		}
		actor := me
		subject := "comment:" + id.String()
		if parent != nil {
			o.add(inbox.AddParams{Member: parent.AuthorID, Kind: "reply", Actor: &actor, Subject: subject, Link: postLink(p.Post),
				Text: name(w) + " replied to your comment."})
		}
		if parent == nil || parent.AuthorID != lp.AuthorID {
			o.add(inbox.AddParams{Member: lp.AuthorID, Kind: "comment", Actor: &actor, Subject: subject, Link: postLink(p.Post),
				Text: name(w) + " commented on your post."})
		}
		s.mentioned(o, w, mentions, subject, postLink(p.Post), "mentioned you in a comment")
		own := lp.AuthorID == me
		if !fresh && (!own || st.OwnPostCommentCoins) {
			err := s.award(ctx, tx, o, rules.Event{Type: EventCommentCreated, Member: me, Ref: commentRef(p.Post, id),
				IdempotencyKey: "comment.created:" + id.String(),
				Attributes:     map[string]any{"length": len([]rune(text)), "own_post": own, "reply": parent != nil}}, postLink(p.Post))
			if err != nil {
				return err
			}
		}
		if err := s.flush(ctx, tx, o); err != nil {
			return err
		}
		out, err = loadComment(ctx, tx, id)
		return err
	})
	return out, err
}

// UpdateComment replaces the text of the member's own visible comment and
// sets edited_at.
// Errors: invalid, not_found, forbidden, unauthenticated.
func (s *Service) UpdateComment(ctx context.Context, id uuid.UUID, text string) (Comment, error) {
	me, err := s.self(ctx)
	if err != nil {
		return Comment{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return Comment{}, err
	}
	text, problems := checkText("text", text, st.MaxCommentLength, st.BlockedWords, false)
	if err := engine.Invalid(problems); err != nil {
		return Comment{}, err
	}
	links := hasLinks(text)
	var out Comment
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		o := &outbox{}
		w, err := s.writer(ctx, tx, me)
		if err != nil {
			return err
		}
		c, err := s.lockVisibleComment(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.AuthorID != me {
			return ErrNotAuthor
		}
		if links && w.newAccount(st, s.now()) {
			return engine.Invalid([]engine.FieldError{{Field: "text", Message: "cannot contain links yet: new members may post links after a while"}})
		}
		mentions, err := resolveHandles(ctx, tx, Mentions(text))
		if err != nil {
			return err
		}
		if err := updateCommentText(ctx, tx, id, text, mentions); err != nil {
			return err
		}
		s.mentioned(o, w, mentions, "comment:"+id.String(), postLink(c.PostID), "mentioned you in a comment")
		if err := s.flush(ctx, tx, o); err != nil {
			return err
		}
		out, err = loadComment(ctx, tx, id)
		return err
	})
	return out, err
}

// lockVisibleComment locks a comment whose post and parent are visible,
// taking the post's lock first (the order every comment change uses).
func (s *Service) lockVisibleComment(ctx context.Context, tx pgx.Tx, id uuid.UUID) (commentState, error) {
	c, err := selectCommentState(ctx, tx, id, false)
	if err != nil {
		return commentState{}, err
	}
	lp, err := lockPost(ctx, tx, c.PostID)
	if err != nil {
		return commentState{}, err
	}
	if !lp.visible() {
		return commentState{}, ErrCommentNotFound
	}
	if c, err = selectCommentState(ctx, tx, id, true); err != nil {
		return commentState{}, err
	}
	if !c.visible() {
		return commentState{}, ErrCommentNotFound
	}
	return c, nil
}

// DeleteComment deletes the member's own comment (soft) and reverses what
// it earned (ref "post:{post}/comment:{id}"). Replies to a deleted comment
// are no longer shown; what they earned stays.
// Errors: not_found, forbidden, unauthenticated.
func (s *Service) DeleteComment(ctx context.Context, id uuid.UUID) error {
	me, err := s.self(ctx)
	if err != nil {
		return err
	}
	return s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		c, err := s.lockVisibleComment(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.AuthorID != me {
			return ErrNotAuthor
		}
		return s.commentGone(ctx, tx, c, func() error { return markCommentDeleted(ctx, tx, id) })
	})
}

// commentGone makes a visible comment invisible with change, keeps the
// post's comment count (the comment and, for a top-level one, its visible
// replies) and reverses the comment's award.
func (s *Service) commentGone(ctx context.Context, tx pgx.Tx, c commentState, change func() error) error {
	n := 1
	if c.ParentID == nil {
		r, err := visibleReplies(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		n += r
	}
	if err := change(); err != nil {
		return err
	}
	if err := addComments(ctx, tx, c.PostID, -n); err != nil {
		return err
	}
	return s.reverse(ctx, tx, commentRef(c.PostID, c.ID))
}

// CommentsParams selects a page of a post's comments.
type CommentsParams struct {
	Post   uuid.UUID
	Cursor string
	Limit  int // 1..50; 0 means 20
}

// CommentPage is a page of top-level comments, oldest first, each with
// its first replies.
type CommentPage struct {
	Comments []Comment
	Next     string
}

// Comments returns a page of a visible post's top-level comments, oldest
// first, each with up to 20 replies (oldest first) and its reply count, in
// one query.
// Errors: invalid, not_found.
func (s *Service) Comments(ctx context.Context, p CommentsParams) (CommentPage, error) {
	after, problems := decodeCursor(p.Cursor)
	problems = append(problems, checkLimit(&p.Limit, 20, 50)...)
	if err := engine.Invalid(problems); err != nil {
		return CommentPage{}, err
	}
	var page CommentPage
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		if err := s.checkPostVisible(ctx, tx, p.Post); err != nil {
			return err
		}
		list, err := listComments(ctx, tx, commentFilter{Post: p.Post, After: after, Limit: p.Limit + 1, Replies: repliesShown})
		if err != nil {
			return err
		}
		if len(list) > p.Limit {
			list = list[:p.Limit]
			last := list[p.Limit-1]
			page.Next = cursor{At: last.CreatedAt, ID: last.ID}.encode()
		}
		page.Comments = list
		return nil
	})
	return page, err
}

// RepliesParams selects a page of a comment's replies.
type RepliesParams struct {
	Comment uuid.UUID
	Cursor  string
	Limit   int // 1..50; 0 means 20
}

// Replies returns a page of a visible comment's visible replies, oldest
// first.
// Errors: invalid, not_found.
func (s *Service) Replies(ctx context.Context, p RepliesParams) (CommentPage, error) {
	after, problems := decodeCursor(p.Cursor)
	problems = append(problems, checkLimit(&p.Limit, 20, 50)...)
	if err := engine.Invalid(problems); err != nil {
		return CommentPage{}, err
	}
	var page CommentPage
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		c, err := selectCommentState(ctx, tx, p.Comment, false)
		if err != nil {
			return err
		}
		if !c.visible() {
			return ErrCommentNotFound
		}
		if err := s.checkPostVisible(ctx, tx, c.PostID); err != nil {
			if isCode(err, engine.CodeNotFound) {
				return ErrCommentNotFound
			}
			return err
		}
		list, err := listComments(ctx, tx, commentFilter{Post: c.PostID, Parent: &c.ID, After: after, Limit: p.Limit + 1})
		if err != nil {
			return err
		}
		if len(list) > p.Limit {
			list = list[:p.Limit]
			last := list[p.Limit-1]
			page.Next = cursor{At: last.CreatedAt, ID: last.ID}.encode()
		}
		page.Comments = list
		return nil
	})
	return page, err
}

// checkPostVisible answers not_found for a post the viewer may not see.
func (s *Service) checkPostVisible(ctx context.Context, tx pgx.Tx, post uuid.UUID) error {
	r, err := selectPost(ctx, tx, post, uuid.Nil)
	if err != nil {
		return err
	}
	if !r.visible() && !s.can(ctx, PermissionModerate) {
		return ErrPostNotFound
	}
	return nil
}

// Comment returns one comment (without replies). Hidden or deleted ones,
// or ones on posts the viewer cannot see, only for moderators.
// Errors: not_found.
func (s *Service) Comment(ctx context.Context, id uuid.UUID) (Comment, error) {
	var out Comment
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		c, err := selectCommentState(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if !s.can(ctx, PermissionModerate) {
			if !c.visible() {
				return ErrCommentNotFound
			}
			if err := s.checkPostVisible(ctx, tx, c.PostID); err != nil {
				return ErrCommentNotFound
			}
		}
		out, err = loadComment(ctx, tx, id)
		return err
	})
	return out, err
}
