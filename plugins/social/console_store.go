package social

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SQL of the console's moderation views (console_service.go).

// reportGroupFilter selects a page of the queue grouped by target.
type reportGroupFilter struct {
	Status string
	Kind   string // "" for both
	After  *cursor
	Limit  int
}

// listReportGroups reads a page of reported targets, the one reported
// last first, with their reports of f.Status (newest first) and a preview
// of each target. The grouping reads every report of the status (the
// queue index leads with tenant_id and status); the page's reports are
// then read by target (social_reports_target_idx).
func listReportGroups(ctx context.Context, tx pgx.Tx, f reportGroupFilter) ([]ReportGroup, error) {
	args := pgx.NamedArgs{"status": f.Status}
	where := `r.status = @status`
	if f.Kind != "" {
		where += ` AND r.target_kind = @kind`
		args["kind"] = f.Kind
	}
	having := ""
	if f.After != nil {
		having = ` HAVING (max(r.created_at), r.target_id) < (@after_at, @after_id)`
		args["after_at"], args["after_id"] = f.After.At, f.After.ID
	}
	rows, err := tx.Query(ctx, `
WITH g AS (
	SELECT r.target_kind, r.target_id, max(r.created_at) AS last_at, count(*)::integer AS n
	FROM social_reports r WHERE `+where+`
	GROUP BY r.target_kind, r.target_id`+having+`
	ORDER BY last_at DESC, r.target_id DESC LIMIT `+strconv.Itoa(f.Limit)+`)
SELECT g.target_kind, g.target_id, g.last_at, g.n,
	r.id, r.reporter_id, coalesce(rp.handle, ''), ru.display_name, ru.avatar_url, r.reason, r.status, r.resolved_by, r.resolved_at,
	r.note, r.created_at,
	t.post_id, t.author_id, t.text, t.created_at, t.hidden_at, t.deleted_at, pr.handle, u.display_name, u.avatar_url
FROM g
JOIN social_reports r ON r.target_kind = g.target_kind AND r.target_id = g.target_id AND r.status = @status
JOIN users ru ON ru.tenant_id = r.tenant_id AND ru.id = r.reporter_id
LEFT JOIN social_profiles rp ON rp.tenant_id = r.tenant_id AND rp.member_id = r.reporter_id
LEFT JOIN LATERAL (
	SELECT p.id AS post_id, p.author_id, p.text, p.created_at, p.hidden_at, p.deleted_at FROM social_posts p
	WHERE g.target_kind = 'post' AND p.tenant_id = r.tenant_id AND p.id = g.target_id
	UNION ALL
	SELECT c.post_id, c.author_id, c.text, c.created_at, c.hidden_at, c.deleted_at FROM social_comments c
	WHERE g.target_kind = 'comment' AND c.tenant_id = r.tenant_id AND c.id = g.target_id) t ON true
LEFT JOIN social_profiles pr ON pr.tenant_id = r.tenant_id AND pr.member_id = t.author_id
LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = t.author_id
ORDER BY g.last_at DESC, g.target_id DESC, r.created_at DESC, r.id DESC`, args)
	if err != nil {
		return nil, fmt.Errorf("list report groups: %w", err)
	}
	var out []ReportGroup
	var rep QueuedReport
	var g ReportGroup
	var post, author *uuid.UUID
	var text, handle, display, avatar *string
	var posted *time.Time
	_, err = pgx.ForEachRow(rows, []any{&g.Target.Kind, &g.Target.ID, &g.LastAt, &g.Count,
		&rep.ID, &rep.Reporter.ID, &rep.Reporter.Handle, &rep.Reporter.DisplayName, &rep.Reporter.AvatarURL, &rep.Reason, &rep.Status,
		&rep.ResolvedBy, &rep.ResolvedAt, &rep.Note, &rep.CreatedAt,
		&post, &author, &text, &posted, &g.Target.HiddenAt, &g.Target.DeletedAt, &handle, &display, &avatar,
	}, func() error {
		// Values are copied out: the scan targets are reused for every row.
		if n := len(out); n == 0 || out[n-1].Target.Kind != g.Target.Kind || out[n-1].Target.ID != g.Target.ID {
			grp := ReportGroup{Count: g.Count, LastAt: g.LastAt, Target: TargetPreview{Kind: g.Target.Kind, ID: g.Target.ID,
				HiddenAt: consoleCopyTime(g.Target.HiddenAt), DeletedAt: consoleCopyTime(g.Target.DeletedAt)}}
			if post == nil {
				grp.Target.Purged = true
			} else {
				grp.Target.PostID, grp.Target.Excerpt, grp.PostedAt = *post, excerpt(*text, 280), consoleCopyTime(posted)
				if author != nil && handle != nil {
					grp.Target.Author = &Author{ID: *author, Handle: *handle, DisplayName: *display, AvatarURL: *avatar}
				}
			}
			out = append(out, grp)
		}
		last := &out[len(out)-1]
		if len(last.Reports) < maxGroupReports {
			r := rep
			r.ResolvedAt = consoleCopyTime(rep.ResolvedAt)
			last.Reports = append(last.Reports, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list report groups: %w", err)
	}
	return out, nil
}

func consoleCopyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// listMemberPosts reads a member's newest posts that are not deleted,
// hidden ones included: the newest visible ones (social_posts_author_idx)
// and the newest hidden ones (social_posts_hidden_idx, few), merged.
func listMemberPosts(ctx context.Context, tx pgx.Tx, member uuid.UUID, limit int) ([]postRow, error) {
	const cols = `p.tenant_id, p.id, p.author_id, p.text, p.mentions, p.image_count, p.like_count, p.comment_count, p.created_at,
		p.edited_at, p.hidden_at, p.hide_reason, p.deleted_at`
	lim := ` ORDER BY p.created_at DESC, p.id DESC LIMIT ` + strconv.Itoa(limit)
	rows, err := tx.Query(ctx, `SELECT `+postColumns+` FROM (
	(SELECT `+cols+` FROM social_posts p WHERE p.author_id = @member AND `+visiblePost+lim+`)
	UNION ALL
	(SELECT `+cols+` FROM social_posts p WHERE p.author_id = @member AND p.hidden_at IS NOT NULL AND p.deleted_at IS NULL`+lim+`)
) p`+postJoins+viewerLike+lim, pgx.NamedArgs{"member": member, "viewer": uuid.Nil})
	if err != nil {
		return nil, fmt.Errorf("list member posts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[postRow])
	if err != nil {
		return nil, fmt.Errorf("list member posts: %w", err)
	}
	return out, nil
}

// listMemberComments reads a member's newest comments and replies that are
// not deleted, hidden ones included. Comments have no author index: this
// reads the tenant's comments, acceptable for a moderator's page.
func listMemberComments(ctx context.Context, tx pgx.Tx, member uuid.UUID, limit int) ([]Comment, error) {
	rows, err := tx.Query(ctx, `SELECT `+commentColumns+` FROM social_comments c`+commentJoins+`
WHERE c.author_id = $1 AND c.deleted_at IS NULL ORDER BY c.created_at DESC, c.id DESC LIMIT `+strconv.Itoa(limit), member)
	if err != nil {
		return nil, fmt.Errorf("list member comments: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[commentRow])
	if err != nil {
		return nil, fmt.Errorf("list member comments: %w", err)
	}
	out := make([]Comment, len(rs))
	for i, r := range rs {
		out[i] = r.comment()
	}
	return out, nil
}

// listMemberReports reads the newest reports of a member's posts and
// comments, any status.
func listMemberReports(ctx context.Context, tx pgx.Tx, member uuid.UUID, limit int) ([]Report, error) {
	rows, err := tx.Query(ctx, selectReportSQL+`
WHERE (r.target_kind = 'post' AND r.target_id IN (SELECT p.id FROM social_posts p WHERE p.author_id = $1))
	OR (r.target_kind = 'comment' AND r.target_id IN (SELECT c.id FROM social_comments c WHERE c.author_id = $1))
ORDER BY r.created_at DESC, r.id DESC LIMIT `+strconv.Itoa(limit), member)
	if err != nil {
		return nil, fmt.Errorf("list member reports: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanReport)
	if err != nil {
		return nil, fmt.Errorf("list member reports: %w", err)
	}
	return out, nil
}

// selectTimeZone reads the IANA time zone of the transaction's tenant.
func selectTimeZone(ctx context.Context, tx pgx.Tx) (string, error) {
	var name string
	if err := tx.QueryRow(ctx, `SELECT time_zone FROM tenants WHERE id = current_tenant_id()`).Scan(&name); err != nil {
		return "", fmt.Errorf("select time zone: %w", err)
	}
	return name, nil
}
