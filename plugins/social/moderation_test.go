package social_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/plugins/social"
)

func TestModeration(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	mod := b.as(b.user(t, "mod@example.com", "Mod", "moderator"), "moderator")
	admin := b.user(t, "admin@example.com", "Admin", "admin")
	author := b.members[0]
	p := b.post(t, b.m(0), "Questionable")
	if _, err := b.svc.Like(b.m(1), p.ID); err != nil {
		t.Fatal(err)
	}
	c, err := b.svc.CreateComment(b.m(2), social.CommentParams{Post: p.ID, Text: "Also questionable"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Report", func(t *testing.T) {
		if _, err := b.svc.Report(b.m(1), social.ReportParams{Kind: "post", Target: p.ID, Reason: "Rude"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Report(b.m(1), social.ReportParams{Kind: "post", Target: p.ID, Reason: "Still rude"}); code(err) != engine.CodeConflict {
			t.Errorf("second open report = %v, want conflict", err)
		}
		if _, err := b.svc.Report(b.m(2), social.ReportParams{Kind: "post", Target: p.ID, Reason: "Agreed"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Report(b.m(1), social.ReportParams{Kind: "comment", Target: c.ID, Reason: ""}); code(err) != engine.CodeInvalid {
			t.Errorf("report without reason = %v, want invalid", err)
		}
		if _, err := b.svc.Report(b.m(1), social.ReportParams{Kind: "comment", Target: uuid.Must(uuid.NewV7()), Reason: "x"}); code(err) != engine.CodeNotFound {
			t.Errorf("report of nothing = %v, want not_found", err)
		}
		if _, err := b.svc.Report(b.m(1), social.ReportParams{Kind: "comment", Target: c.ID, Reason: "Spam"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Reports(b.m(1), social.ReportsParams{}); code(err) != engine.CodeForbidden {
			t.Errorf("Reports(member) = %v, want forbidden", err)
		}
		page, err := b.svc.Reports(mod, social.ReportsParams{})
		if err != nil || len(page.Reports) != 3 {
			t.Fatalf("Reports() = %+v, %v", page, err)
		}
		last := page.Reports[2]
		if last.Target.Kind != "post" || last.TargetReports != 2 || last.Target.Excerpt != "Questionable" || last.Target.Author.ID != author {
			t.Errorf("report = %+v", last)
		}
		if _, err := b.svc.Reports(mod, social.ReportsParams{Status: "lost"}); code(err) != engine.CodeInvalid {
			t.Errorf("Reports(bad status) = %v", err)
		}
		r, err := b.svc.ResolveReport(mod, social.ResolveParams{Report: page.Reports[0].ID, Status: social.ReportDismissed, Note: "fine"})
		if err != nil || r.Status != "dismissed" || r.ResolvedAt == nil {
			t.Errorf("ResolveReport() = %+v, %v", r, err)
		}
		if _, err := b.svc.ResolveReport(mod, social.ResolveParams{Report: r.ID, Status: social.ReportResolved}); code(err) != engine.CodeConflict {
			t.Errorf("ResolveReport(closed) = %v, want conflict", err)
		}
	})

	t.Run("HideRestore", func(t *testing.T) {
		if err := b.svc.Hide(b.m(1), social.ModerateParams{Kind: "post", Target: p.ID, Reason: "x"}); code(err) != engine.CodeForbidden {
			t.Errorf("Hide(member) = %v, want forbidden", err)
		}
		if err := b.svc.Hide(mod, social.ModerateParams{Kind: "post", Target: p.ID}); code(err) != engine.CodeInvalid {
			t.Errorf("Hide(no reason) = %v, want invalid", err)
		}
		if err := b.svc.Hide(mod, social.ModerateParams{Kind: "post", Target: p.ID, Reason: "Rude"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Post(b.m(1), p.ID); code(err) != engine.CodeNotFound {
			t.Errorf("hidden post for a member = %v, want not_found", err)
		}
		if got, err := b.svc.Post(mod, p.ID); err != nil || got.HiddenAt == nil || got.HideReason != "Rude" {
			t.Errorf("hidden post for a moderator = %+v, %v", got, err)
		}
		if page, _ := b.svc.Feed(mod, social.FeedParams{}); len(page.Posts) != 0 {
			t.Errorf("a feed shows a hidden post")
		}
		if _, err := b.svc.Like(b.m(2), p.ID); code(err) != engine.CodeNotFound {
			t.Errorf("Like(hidden) = %v, want not_found", err)
		}
		// The whole tree is taken back: the post, the like, the comment.
		for m, want := range map[uuid.UUID]int64{author: 0, b.members[2]: 0} {
			if bal := b.balance(t, m); bal != want {
				t.Errorf("balance of %v after hide = %d, want %d", m, bal, want)
			}
		}
		open, _ := b.svc.Reports(mod, social.ReportsParams{})
		for _, r := range open.Reports {
			if r.Target.ID == p.ID {
				t.Errorf("report of the hidden post still open")
			}
		}
		found, err := b.svc.Search(mod, social.SearchParams{Query: "QUESTION"})
		if err != nil || len(found.Posts) != 1 || found.Posts[0].HiddenAt == nil {
			t.Errorf("Search() = %+v, %v", found, err)
		}
		if err := b.svc.Restore(mod, social.ModerateParams{Kind: "post", Target: p.ID}); err != nil {
			t.Fatal(err)
		}
		if got, err := b.svc.Post(b.m(1), p.ID); err != nil || got.LikeCount != 1 {
			t.Errorf("restored post = %+v, %v", got, err)
		}
		if bal := b.balance(t, author); bal != 0 {
			t.Errorf("balance after restore = %d, want 0 (no re-award)", bal)
		}
		if err := b.svc.Restore(mod, social.ModerateParams{Kind: "post", Target: p.ID}); code(err) != engine.CodeConflict {
			t.Errorf("Restore(not hidden) = %v, want conflict", err)
		}
		prof, _ := b.svc.Profile(b.m(1), author.String())
		if prof.PostCount != 1 || prof.LikesReceived != 1 {
			t.Errorf("profile after restore = %d posts, %d likes", prof.PostCount, prof.LikesReceived)
		}
	})

	t.Run("Comments", func(t *testing.T) {
		if err := b.svc.Hide(mod, social.ModerateParams{Kind: "comment", Target: c.ID, Reason: "Spam"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.svc.Post(b.m(1), p.ID); got.CommentCount != 0 {
			t.Errorf("comment count with the comment hidden = %d", got.CommentCount)
		}
		if err := b.svc.Restore(mod, social.ModerateParams{Kind: "comment", Target: c.ID}); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.svc.Post(b.m(1), p.ID); got.CommentCount != 1 {
			t.Errorf("comment count restored = %d", got.CommentCount)
		}
		if err := b.svc.DeleteAsModerator(mod, social.ModerateParams{Kind: "comment", Target: c.ID, Reason: "Spam after all"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.svc.Post(b.m(1), p.ID); got.CommentCount != 0 {
			t.Errorf("comment count after delete = %d", got.CommentCount)
		}
		if err := b.svc.DeleteAsModerator(mod, social.ModerateParams{Kind: "post", Target: p.ID, Reason: "Gone"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Post(mod, p.ID); err != nil {
			t.Errorf("deleted post for a moderator = %v (kept until purged)", err)
		}
	})

	t.Run("Members", func(t *testing.T) {
		target := b.members[1]
		if err := b.svc.Warn(mod, social.WarnParams{Member: target, Reason: "Be nice"}); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Warn(mod, social.WarnParams{Member: admin, Reason: "Be nice"}); code(err) != engine.CodeForbidden {
			t.Errorf("moderator warns an admin = %v, want forbidden", err)
		}
		until := b.clock.Now().Add(48 * time.Hour)
		if err := b.svc.Suspend(mod, social.SuspendParams{Member: target, Until: b.clock.Now().Add(-time.Hour), Reason: "x"}); code(err) != engine.CodeInvalid {
			t.Errorf("Suspend(past) = %v, want invalid", err)
		}
		if err := b.svc.Suspend(mod, social.SuspendParams{Member: target, Until: until, Reason: "Cool off"}); err != nil {
			t.Fatal(err)
		}
		q := b.post(t, b.m(0), "Still here")
		for name, err := range map[string]error{
			"post": func() error { _, err := b.svc.CreatePost(b.m(1), social.PostParams{Text: "hi"}); return err }(),
			"like": func() error { _, err := b.svc.Like(b.m(1), q.ID); return err }(),
			"comment": func() error {
				_, err := b.svc.CreateComment(b.m(1), social.CommentParams{Post: q.ID, Text: "hi"})
				return err
			}(),
			"follow": b.svc.Follow(b.m(1), b.members[0]),
			"report": func() error {
				_, err := b.svc.Report(b.m(1), social.ReportParams{Kind: "post", Target: q.ID, Reason: "x"})
				return err
			}(),
		} {
			if code(err) != engine.CodeForbidden {
				t.Errorf("suspended %s = %v, want forbidden", name, err)
			}
		}
		if _, err := b.svc.Feed(b.m(1), social.FeedParams{}); err != nil {
			t.Errorf("suspended members read: %v", err)
		}
		sum, err := b.svc.ModerationSummary(mod, target)
		if err != nil || sum.Warnings != 1 || sum.Suspensions != 1 || sum.SuspendedUntil == nil || len(sum.Actions) != 2 {
			t.Errorf("ModerationSummary() = %+v, %v", sum, err)
		}
		if err := b.svc.Unsuspend(mod, target); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Like(b.m(1), q.ID); err != nil {
			t.Errorf("Like() after unsuspend = %v", err)
		}
		if d := cmp.Diff([]string{"warning", "warning"}, b.notes(t, target)); d != "" {
			t.Errorf("target notifications (-want +got):\n%s", d)
		}
	})

	want := []string{"social.comment_deleted", "social.comment_hidden", "social.comment_restored", "social.member_suspended",
		"social.member_unsuspended", "social.member_warned", "social.post_deleted", "social.post_hidden", "social.post_restored",
		"social.report_dismissed"}
	if d := cmp.Diff(want, b.auditActions(t, "social.")); d != "" {
		t.Errorf("audit (-want +got):\n%s", d)
	}
	b.verify(t)
}

func TestBannedAuthorsDisappear(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	owner := b.as(b.user(t, "owner@example.com", "Owner", "owner"), "owner")
	p := b.post(t, b.m(0), "Soon gone")
	if _, err := b.ids.Service.Ban(owner, b.members[0], "spam"); err != nil {
		t.Fatal(err)
	}
	if page, _ := b.svc.Feed(b.m(1), social.FeedParams{}); len(page.Posts) != 0 {
		t.Errorf("feed shows a banned member's post")
	}
	if _, err := b.svc.Post(b.m(1), p.ID); code(err) != engine.CodeNotFound {
		t.Errorf("Post(banned author) = %v, want not_found", err)
	}
	if _, err := b.svc.Profile(b.m(1), "member_0"); code(err) != engine.CodeNotFound {
		t.Errorf("Profile(banned) = %v, want not_found", err)
	}
	if _, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "let me"}); code(err) != engine.CodeForbidden {
		t.Errorf("banned member posts = %v, want forbidden", err)
	}
}
