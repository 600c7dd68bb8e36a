package social

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/rules"
)

// What the console's moderation and settings pages read beyond the
// service's member-facing methods: the queue grouped by target, a
// member's activity as moderators see it, closing several reports at
// once, the tenant's time zone and the rules of the plugin's events.

// ReportGroupsParams selects a page of the moderation queue grouped by
// target.
type ReportGroupsParams struct {
	Status string // open (default), resolved or dismissed
	Kind   string // post, comment, or "" for both
	Cursor string
	Limit  int // 1..50; 0 means 20
}

// ReportGroup is one reported post or comment with its reports of the
// queue's status.
type ReportGroup struct {
	Target TargetPreview
	// PostedAt is when the content was written; nil when it was purged.
	PostedAt *time.Time
	// Count is how many reports of the queue's status the target has;
	// Reports holds the newest of them (at most maxGroupReports).
	Count   int
	LastAt  time.Time
	Reports []QueuedReport
}

// QueuedReport is a report in the queue with the member who sent it.
type QueuedReport struct {
	ID         uuid.UUID
	Reporter   Author
	Reason     string
	Status     string
	ResolvedBy string
	ResolvedAt *time.Time
	Note       string
	CreatedAt  time.Time
}

// ReportGroupPage is a page of the queue, the target reported last first.
type ReportGroupPage struct {
	Groups []ReportGroup
	Next   string
}

// maxGroupReports bounds the reports a queue entry lists; its Count
// still counts them all.
const maxGroupReports = 20

// ReportGroups returns a page of reported posts and comments, each with
// its reports of p.Status (newest first), the one reported last first. It
// reads every report of that status of the tenant to group them, which is
// cheap for the open queue; the closed ones are a rarer, slower view.
// Errors: invalid, unauthenticated, forbidden.
func (s *Service) ReportGroups(ctx context.Context, p ReportGroupsParams) (ReportGroupPage, error) {
	if _, err := s.moderator(ctx); err != nil {
		return ReportGroupPage{}, err
	}
	if p.Status == "" {
		p.Status = ReportOpen
	}
	after, problems := decodeCursor(p.Cursor)
	problems = append(problems, checkLimit(&p.Limit, 20, 50)...)
	if p.Status != ReportOpen && p.Status != ReportResolved && p.Status != ReportDismissed {
		problems = append(problems, engine.FieldError{Field: "status", Message: "must be open, resolved or dismissed"})
	}
	if p.Kind != "" && p.Kind != TargetPost && p.Kind != TargetComment {
		problems = append(problems, engine.FieldError{Field: "kind", Message: "must be post or comment"})
	}
	if err := engine.Invalid(problems); err != nil {
		return ReportGroupPage{}, err
	}
	var page ReportGroupPage
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		groups, err := listReportGroups(ctx, tx, reportGroupFilter{Status: p.Status, Kind: p.Kind, After: after, Limit: p.Limit + 1})
		if err != nil {
			return err
		}
		if len(groups) > p.Limit {
			groups = groups[:p.Limit]
			last := groups[p.Limit-1]
			page.Next = cursor{At: last.LastAt, ID: last.Target.ID}.encode()
		}
		page.Groups = groups
		return nil
	})
	return page, err
}

// ResolveReportsParams closes several reports at once.
type ResolveReportsParams struct {
	Reports []uuid.UUID // 1 to 100
	Status  string      // resolved or dismissed
	Note    string      // optional, at most 1000 characters
}

// ResolveReports closes those of p.Reports that are still open as resolved
// or dismissed, in one transaction, each audited like ResolveReport, and
// returns how many it closed: reports another moderator closed meanwhile,
// or that do not exist, are skipped. Rows are updated in ID order, so two
// moderators closing overlapping sets cannot deadlock.
// Errors: invalid, unauthenticated, forbidden.
func (s *Service) ResolveReports(ctx context.Context, p ResolveReportsParams) (int, error) {
	if _, err := s.moderator(ctx); err != nil {
		return 0, err
	}
	var problems []engine.FieldError
	ids := slices.Clone(p.Reports)
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	if len(ids) == 0 || len(ids) > 100 {
		problems = append(problems, engine.FieldError{Field: "reports", Message: "must name 1 to 100 reports"})
	}
	if p.Status != ReportResolved && p.Status != ReportDismissed {
		problems = append(problems, engine.FieldError{Field: "status", Message: "must be resolved or dismissed"})
	}
	note, why := normalize(p.Note)
	if why != "" || utf8.RuneCountInString(note) > 1000 {
		problems = append(problems, engine.FieldError{Field: "note", Message: "must be at most 1000 characters, no control characters"})
	}
	if err := engine.Invalid(problems); err != nil {
		return 0, err
	}
	var closed int
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		closed = 0
		by := audit.ActorFrom(ctx).Name
		for _, id := range ids {
			ok, err := closeReport(ctx, tx, id, p.Status, by, note)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			closed++
			if err := audit.Record(ctx, tx, "social.report_"+p.Status, "report:"+id.String(), map[string]any{"note": note}); err != nil {
				return err
			}
		}
		return nil
	})
	return closed, err
}

// MemberActivity is what moderators see of a member besides their
// standing (ModerationSummary).
type MemberActivity struct {
	Profile Profile // Coins always set: moderators see them whatever the community shows
	Role    string  // in the tenant: owner, admin, moderator, member
	// Actionable is whether the principal may warn and suspend them
	// (only members below their own role; owners and platform admins
	// anyone but themselves).
	Actionable bool
	Posts      []Post    // the newest, hidden ones included (not deleted)
	Comments   []Comment // the newest, hidden ones included (not deleted)
	Reports    []Report  // the newest reports of their posts and comments, any status
}

// activityLimit is how many posts, comments and reports MemberActivity
// lists of each.
const activityLimit = 20

// MemberActivity returns a member's profile, their newest posts and
// comments (hidden ones included) and the newest reports of them, for
// moderators. Banned members are included.
// Errors: not_found, unauthenticated, forbidden.
func (s *Service) MemberActivity(ctx context.Context, member uuid.UUID) (MemberActivity, error) {
	mod, err := s.moderator(ctx)
	if err != nil {
		return MemberActivity{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return MemberActivity{}, err
	}
	st.ShowCoins = true
	var out MemberActivity
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		m, err := s.ensureProfile(ctx, tx, member)
		if err != nil {
			return err
		}
		if out.Profile, err = s.profile(ctx, tx, m, viewer(ctx), st); err != nil {
			return err
		}
		out.Role, out.Actionable = m.Role, outranks(mod, m.MemberID, m.Role)
		rows, err := listMemberPosts(ctx, tx, member, activityLimit)
		if err != nil {
			return err
		}
		out.Posts = make([]Post, len(rows))
		for i, r := range rows {
			out.Posts[i] = s.post(ctx, r)
		}
		if out.Comments, err = listMemberComments(ctx, tx, member, activityLimit); err != nil {
			return err
		}
		out.Reports, err = listMemberReports(ctx, tx, member, activityLimit)
		return err
	})
	return out, err
}

// outranks mirrors checkOutranks for showing or not the forms that act on
// a member: the service still decides.
func outranks(mod engine.Principal, member uuid.UUID, role string) bool {
	if mod.Kind == engine.PrincipalUser && mod.UserID == member {
		return false
	}
	rank := authz.Rank(mod.Role)
	if mod.Kind == engine.PrincipalPlatform || mod.Kind == engine.PrincipalAPIKey || rank >= authz.Rank(authz.RoleOwner) {
		return true
	}
	return authz.Rank(role) < rank
}

// Location returns the time zone of the tenant in ctx, in which the
// console shows times and reads the end of a suspension. An unknown zone
// name (the registry validates them) falls back to UTC.
func (s *Service) Location(ctx context.Context) (*time.Location, error) {
	var name string
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		name, err = selectTimeZone(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

// EventRules returns the tenant's rules of the plugin's coin events
// (post.created, like.received, comment.created), in that order, for the
// settings page's shortcuts; none when the plugin has no rules service.
// Errors: unauthenticated, forbidden (social:manage).
func (s *Service) EventRules(ctx context.Context) ([]rules.Rule, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok {
		return nil, ErrSignIn
	}
	if !s.d.Authz.Can(p, PermissionManage) {
		return nil, ErrForbidden
	}
	if s.d.Rules == nil {
		return nil, nil
	}
	all, err := s.d.Rules.Rules(ctx)
	if err != nil {
		return nil, err
	}
	var out []rules.Rule
	for _, t := range []string{EventPostCreated, EventLikeReceived, EventCommentCreated} {
		if i := slices.IndexFunc(all, func(r rules.Rule) bool { return r.EventType == t }); i >= 0 {
			out = append(out, all[i])
		}
	}
	return out, nil
}
