package social

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/inbox"
)

// ReportParams reports a post or a comment.
type ReportParams struct {
	Kind   string // post or comment
	Target uuid.UUID
	Reason string // 1 to 500 characters
}

// Report reports a post or comment the member in ctx can see, for
// moderators. A member has one open report per target.
// Errors: invalid, not_found, conflict (ErrAlreadyReported),
// unauthenticated, forbidden (banned, suspended).
func (s *Service) Report(ctx context.Context, p ReportParams) (Report, error) {
	me, err := s.self(ctx)
	if err != nil {
		return Report{}, err
	}
	var problems []engine.FieldError
	if p.Kind != TargetPost && p.Kind != TargetComment {
		problems = append(problems, engine.FieldError{Field: "kind", Message: "must be post or comment"})
	}
	reason, fe := checkReason(p.Reason, true)
	problems = append(problems, fe...)
	if err := engine.Invalid(problems); err != nil {
		return Report{}, err
	}
	id := uuid.Must(uuid.NewV7())
	var out Report
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		if _, err := s.writer(ctx, tx, me); err != nil {
			return err
		}
		if err := s.checkTargetVisible(ctx, tx, p.Kind, p.Target); err != nil {
			return err
		}
		if err := insertReport(ctx, tx, id, p.Kind, p.Target, me, reason); err != nil {
			return err
		}
		var err error
		out, err = selectReport(ctx, tx, id)
		return err
	})
	return out, err
}

// checkTargetVisible answers not_found for a target a member cannot see.
func (s *Service) checkTargetVisible(ctx context.Context, tx pgx.Tx, kind string, id uuid.UUID) error {
	if kind == TargetPost {
		r, err := selectPost(ctx, tx, id, uuid.Nil)
		if err != nil {
			return err
		}
		if !r.visible() {
			return ErrPostNotFound
		}
		return nil
	}
	c, err := selectCommentState(ctx, tx, id, false)
	if err != nil {
		return err
	}
	if !c.visible() {
		return ErrCommentNotFound
	}
	r, err := selectPost(ctx, tx, c.PostID, uuid.Nil)
	if err != nil || !r.visible() {
		return ErrCommentNotFound
	}
	return nil
}

func checkReason(r string, required bool) (string, []engine.FieldError) {
	t, why := normalize(r)
	n := utf8.RuneCountInString(t)
	switch {
	case why != "":
		return "", []engine.FieldError{{Field: "reason", Message: why}}
	case required && n == 0:
		return "", []engine.FieldError{{Field: "reason", Message: "is required"}}
	case n > 500:
		return "", []engine.FieldError{{Field: "reason", Message: "must be at most 500 characters"}}
	}
	return t, nil
}

// ReportsParams selects a page of the moderation queue.
type ReportsParams struct {
	Status string // open (default), resolved or dismissed
	Cursor string
	Limit  int // 1..100; 0 means 50
}

// ReportPage is a page of reports, newest first.
type ReportPage struct {
	Reports []Report
	Next    string
}

// Reports returns a page of reports with a preview of what each is about
// and how many open reports its target has, newest first.
// Errors: invalid, unauthenticated, forbidden.
func (s *Service) Reports(ctx context.Context, p ReportsParams) (ReportPage, error) {
	if _, err := s.moderator(ctx); err != nil {
		return ReportPage{}, err
	}
	if p.Status == "" {
		p.Status = ReportOpen
	}
	after, problems := decodeCursor(p.Cursor)
	problems = append(problems, checkLimit(&p.Limit, 50, 100)...)
	if p.Status != ReportOpen && p.Status != ReportResolved && p.Status != ReportDismissed {
		problems = append(problems, engine.FieldError{Field: "status", Message: "must be open, resolved or dismissed"})
	}
	if err := engine.Invalid(problems); err != nil {
		return ReportPage{}, err
	}
	var page ReportPage
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		list, err := listReports(ctx, tx, p.Status, after, p.Limit+1)
		if err != nil {
			return err
		}
		if len(list) > p.Limit {
			list = list[:p.Limit]
			last := list[p.Limit-1]
			page.Next = cursor{At: last.CreatedAt, ID: last.ID}.encode()
		}
		page.Reports = list
		return nil
	})
	return page, err
}

// ResolveParams closes a report.
type ResolveParams struct {
	Report uuid.UUID
	Status string // resolved or dismissed
	Note   string // optional, at most 1000 characters
}

// ResolveReport closes an open report as resolved (acted upon) or
// dismissed (nothing wrong), audited.
// Errors: invalid, not_found, conflict (ErrReportClosed),
// unauthenticated, forbidden.
func (s *Service) ResolveReport(ctx context.Context, p ResolveParams) (Report, error) {
	if _, err := s.moderator(ctx); err != nil {
		return Report{}, err
	}
	var problems []engine.FieldError
	if p.Status != ReportResolved && p.Status != ReportDismissed {
		problems = append(problems, engine.FieldError{Field: "status", Message: "must be resolved or dismissed"})
	}
	note, why := normalize(p.Note)
	if why != "" || utf8.RuneCountInString(note) > 1000 {
		problems = append(problems, engine.FieldError{Field: "note", Message: "must be at most 1000 characters, no control characters"})
	}
	if err := engine.Invalid(problems); err != nil {
		return Report{}, err
	}
	var out Report
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		closed, err := closeReport(ctx, tx, p.Report, p.Status, audit.ActorFrom(ctx).Name, note)
		if err != nil {
			return err
		}
		if !closed {
			if _, err := selectReport(ctx, tx, p.Report); err != nil {
				return err
			}
			return ErrReportClosed
		}
		if err := audit.Record(ctx, tx, "social.report_"+p.Status, "report:"+p.Report.String(), map[string]any{"note": note}); err != nil {
			return err
		}
		out, err = selectReport(ctx, tx, p.Report)
		return err
	})
	return out, err
}

// ModerateParams names content a moderator acts on, and why.
type ModerateParams struct {
	Kind   string // post or comment
	Target uuid.UUID
	Reason string // at most 500 characters; required to hide and delete
}

func (p ModerateParams) check(requireReason bool) (string, error) {
	var problems []engine.FieldError
	if p.Kind != TargetPost && p.Kind != TargetComment {
		problems = append(problems, engine.FieldError{Field: "kind", Message: "must be post or comment"})
	}
	reason, fe := checkReason(p.Reason, requireReason)
	problems = append(problems, fe...)
	return reason, engine.Invalid(problems)
}

// Hide hides a visible post or comment from members and reverses what it
// earned (for a post, its whole ref tree), audited, and resolves its open
// reports. Hiding hidden content changes nothing.
// Errors: invalid, not_found, unauthenticated, forbidden.
func (s *Service) Hide(ctx context.Context, p ModerateParams) error {
	return s.moderate(ctx, p, "hide", true)
}

// Restore shows hidden content again, audited. What it earned stays
// reversed: restoring pays nothing (the awards' keys were used).
// Errors: invalid, not_found, conflict (not hidden), unauthenticated,
// forbidden.
func (s *Service) Restore(ctx context.Context, p ModerateParams) error {
	return s.moderate(ctx, p, "restore", false)
}

// DeleteAsModerator deletes a post or comment (hidden or not) for good —
// soft, purged after the tenant's retention — reverses what it earned,
// audited, and resolves its open reports.
// Errors: invalid, not_found, unauthenticated, forbidden.
func (s *Service) DeleteAsModerator(ctx context.Context, p ModerateParams) error {
	return s.moderate(ctx, p, "delete", true)
}

var errNotHidden = &engine.Error{Code: engine.CodeConflict, Message: "This is not hidden."}

func (s *Service) moderate(ctx context.Context, p ModerateParams, action string, requireReason bool) error {
	mod, err := s.moderator(ctx)
	if err != nil {
		return err
	}
	reason, err := p.check(requireReason)
	if err != nil {
		return err
	}
	var by *uuid.UUID
	if mod.Kind == engine.PrincipalUser {
		by = &mod.UserID
	}
	return s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		var author uuid.UUID
		var changed bool
		var err error
		if p.Kind == TargetPost {
			author, changed, err = s.moderatePost(ctx, tx, p.Target, action, reason, by)
		} else {
			author, changed, err = s.moderateComment(ctx, tx, p.Target, action, reason, by)
		}
		if err != nil || !changed {
			return err
		}
		if action != "restore" {
			if err := resolveTargetReports(ctx, tx, p.Kind, p.Target, audit.ActorFrom(ctx).Name, action+": "+reason); err != nil {
				return err
			}
		}
		if err := insertAction(ctx, tx, actionRow{Actor: audit.ActorFrom(ctx).Name, Action: action, TargetKind: p.Kind, TargetID: p.Target,
			Member: author, Reason: reason}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "social."+p.Kind+"_"+map[string]string{"hide": "hidden", "restore": "restored", "delete": "deleted"}[action],
			p.Kind+":"+p.Target.String(), map[string]any{"reason": reason, "author": author})
	})
}

// moderatePost applies action to a post. Lock order: the post, the
// author's profile, the wallets (reversal).
func (s *Service) moderatePost(ctx context.Context, tx pgx.Tx, id uuid.UUID, action, reason string, by *uuid.UUID) (uuid.UUID, bool, error) {
	lp, err := lockPost(ctx, tx, id)
	if err != nil {
		return uuid.Nil, false, err
	}
	if lp.DeletedAt != nil {
		return uuid.Nil, false, ErrPostNotFound
	}
	switch action {
	case "hide":
		if lp.HiddenAt != nil {
			return lp.AuthorID, false, nil
		}
		if err := setPostHidden(ctx, tx, id, by, reason); err != nil {
			return uuid.Nil, false, err
		}
	case "restore":
		if lp.HiddenAt == nil {
			return uuid.Nil, false, errNotHidden
		}
		if err := setPostHidden(ctx, tx, id, nil, ""); err != nil {
			return uuid.Nil, false, err
		}
		if _, _, err := bumpProfile(ctx, tx, lp.AuthorID, counterPosts, 1); err != nil {
			return uuid.Nil, false, err
		}
		_, _, err := bumpProfile(ctx, tx, lp.AuthorID, counterLikes, int64(lp.LikeCount))
		return lp.AuthorID, true, err
	case "delete":
		if err := markPostDeleted(ctx, tx, id); err != nil {
			return uuid.Nil, false, err
		}
	}
	if lp.visible() {
		if err := s.postGone(ctx, tx, lp); err != nil {
			return uuid.Nil, false, err
		}
	}
	return lp.AuthorID, true, s.reverse(ctx, tx, postRef(id))
}

// moderateComment applies action to a comment. Lock order: its post, the
// comment, the wallets (reversal).
func (s *Service) moderateComment(ctx context.Context, tx pgx.Tx, id uuid.UUID, action, reason string, by *uuid.UUID) (uuid.UUID, bool, error) {
	c0, err := selectCommentState(ctx, tx, id, false)
	if err != nil {
		return uuid.Nil, false, err
	}
	lp, err := lockPost(ctx, tx, c0.PostID)
	if err != nil {
		return uuid.Nil, false, err
	}
	c, err := selectCommentState(ctx, tx, id, true)
	if err != nil {
		return uuid.Nil, false, err
	}
	if c.DeletedAt != nil || lp.DeletedAt != nil {
		return uuid.Nil, false, ErrCommentNotFound
	}
	counted := c.visible() && lp.visible()
	switch action {
	case "hide":
		if c.HiddenAt != nil {
			return c.AuthorID, false, nil
		}
		change := func() error { return setCommentHidden(ctx, tx, id, by, reason) }
		if !counted {
			if err := change(); err != nil {
				return uuid.Nil, false, err
			}
			return c.AuthorID, true, s.reverse(ctx, tx, commentRef(c.PostID, id))
		}
		return c.AuthorID, true, s.commentGone(ctx, tx, c, change)
	case "restore":
		if c.HiddenAt == nil {
			return uuid.Nil, false, errNotHidden
		}
		if err := setCommentHidden(ctx, tx, id, nil, ""); err != nil {
			return uuid.Nil, false, err
		}
		if c.ParentVisible && lp.visible() {
			n := 1
			if c.ParentID == nil {
				r, err := visibleReplies(ctx, tx, id)
				if err != nil {
					return uuid.Nil, false, err
				}
				n += r
			}
			if err := addComments(ctx, tx, c.PostID, n); err != nil {
				return uuid.Nil, false, err
			}
		}
		return c.AuthorID, true, nil
	default: // delete
		change := func() error { return markCommentDeleted(ctx, tx, id) }
		if !counted {
			if err := change(); err != nil {
				return uuid.Nil, false, err
			}
			return c.AuthorID, true, s.reverse(ctx, tx, commentRef(c.PostID, id))
		}
		return c.AuthorID, true, s.commentGone(ctx, tx, c, change)
	}
}

// commentGoneCounted is commentGone for a comment on a visible post.
func (s *Service) commentGoneCounted(ctx context.Context, tx pgx.Tx, c commentState, change func() error) error {
	return s.commentGone(ctx, tx, c, change)
}

// WarnParams warns a member.
type WarnParams struct {
	Member uuid.UUID
	Reason string // required, at most 500 characters
}

// Warn warns a member: a "warning" notification with the reason and a
// moderation record, audited. Moderators act only on members below their
// own role.
// Errors: invalid, not_found, unauthenticated, forbidden.
func (s *Service) Warn(ctx context.Context, p WarnParams) error {
	mod, err := s.moderator(ctx)
	if err != nil {
		return err
	}
	reason, fe := checkReason(p.Reason, true)
	if err := engine.Invalid(fe); err != nil {
		return err
	}
	return s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		if err := s.checkOutranks(ctx, tx, mod, p.Member); err != nil {
			return err
		}
		if err := insertAction(ctx, tx, actionRow{Actor: audit.ActorFrom(ctx).Name, Action: "warn", TargetKind: "member", TargetID: p.Member,
			Member: p.Member, Reason: reason}); err != nil {
			return err
		}
		o := &outbox{}
		o.add(inbox.AddParams{Member: p.Member, Kind: "warning", Subject: "member:" + p.Member.String(),
			Text: "A moderator warned you: " + reason, Data: map[string]any{"reason": reason}})
		if err := s.flush(ctx, tx, o); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "social.member_warned", "user:"+p.Member.String(), map[string]any{"reason": reason})
	})
}

// checkOutranks refuses acting on a member who is not below the
// moderator's role (owners and platform admins act on anyone but
// themselves).
func (s *Service) checkOutranks(ctx context.Context, tx pgx.Tx, mod engine.Principal, member uuid.UUID) error {
	m, err := s.ensureProfile(ctx, tx, member)
	if err != nil {
		return err
	}
	if mod.Kind == engine.PrincipalUser && mod.UserID == member {
		return ErrForbidden
	}
	rank := authz.Rank(mod.Role)
	if mod.Kind == engine.PrincipalPlatform || mod.Kind == engine.PrincipalAPIKey || rank >= authz.Rank(authz.RoleOwner) {
		return nil
	}
	if authz.Rank(m.Role) >= rank {
		return ErrForbidden
	}
	return nil
}

// SuspendParams suspends a member until a time.
type SuspendParams struct {
	Member uuid.UUID
	Until  time.Time // in the future, at most a year away
	Reason string    // required, at most 500 characters
}

// Suspend suspends a member: until then they can read but not post,
// comment, like, follow or report. Notified ("warning"), recorded and
// audited; a new suspension replaces the current one.
// Errors: invalid, not_found, unauthenticated, forbidden.
func (s *Service) Suspend(ctx context.Context, p SuspendParams) error {
	mod, err := s.moderator(ctx)
	if err != nil {
		return err
	}
	reason, problems := checkReason(p.Reason, true)
	now := s.now()
	if !p.Until.After(now) || p.Until.After(now.AddDate(1, 0, 1)) {
		problems = append(problems, engine.FieldError{Field: "until", Message: "must be in the future, at most a year away"})
	}
	if err := engine.Invalid(problems); err != nil {
		return err
	}
	until := p.Until.UTC().Truncate(time.Second)
	return s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		if err := s.checkOutranks(ctx, tx, mod, p.Member); err != nil {
			return err
		}
		if err := setSuspension(ctx, tx, p.Member, &until, reason); err != nil {
			return err
		}
		if err := insertAction(ctx, tx, actionRow{Actor: audit.ActorFrom(ctx).Name, Action: "suspend", TargetKind: "member", TargetID: p.Member,
			Member: p.Member, Reason: reason, Until: &until}); err != nil {
			return err
		}
		o := &outbox{}
		o.add(inbox.AddParams{Member: p.Member, Kind: "warning", Subject: "member:" + p.Member.String(),
			Text: "A moderator suspended your account until " + until.Format("2 January 2006 15:04 MST") + ": " + reason,
			Data: map[string]any{"reason": reason, "until": until}})
		if err := s.flush(ctx, tx, o); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "social.member_suspended", "user:"+p.Member.String(), map[string]any{"reason": reason, "until": until})
	})
}

// Unsuspend lifts a member's suspension, audited.
// Errors: not_found, unauthenticated, forbidden.
func (s *Service) Unsuspend(ctx context.Context, member uuid.UUID) error {
	mod, err := s.moderator(ctx)
	if err != nil {
		return err
	}
	return s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		if err := s.checkOutranks(ctx, tx, mod, member); err != nil {
			return err
		}
		if err := setSuspension(ctx, tx, member, nil, ""); err != nil {
			return err
		}
		if err := insertAction(ctx, tx, actionRow{Actor: audit.ActorFrom(ctx).Name, Action: "unsuspend", TargetKind: "member", TargetID: member,
			Member: member}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "social.member_unsuspended", "user:"+member.String(), nil)
	})
}

// ModerationSummary returns a member's standing for moderators: ban and
// suspension, warnings, suspensions, hidden content, open reports and the
// latest actions. Banning itself is identity's Ban.
// Errors: not_found, unauthenticated, forbidden.
func (s *Service) ModerationSummary(ctx context.Context, member uuid.UUID) (ModerationSummary, error) {
	if _, err := s.moderator(ctx); err != nil {
		return ModerationSummary{}, err
	}
	var out ModerationSummary
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		m, err := s.ensureProfile(ctx, tx, member)
		if err != nil {
			return err
		}
		out, err = selectModerationSummary(ctx, tx, member)
		if err != nil {
			return err
		}
		out.Member, out.Banned = m.author(), m.Banned
		if m.SuspendedUntil != nil && m.SuspendedUntil.After(s.now()) {
			out.SuspendedUntil = m.SuspendedUntil
		}
		return nil
	})
	return out, err
}
