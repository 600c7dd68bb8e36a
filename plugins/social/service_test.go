package social_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/plugins/social"
)

func TestPosts(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	author, reader := b.members[0], b.members[1]
	// The reader's profile exists once they act or are read.
	if _, err := b.svc.Profile(b.m(1), reader.String()); err != nil {
		t.Fatal(err)
	}
	p := b.post(t, b.m(0), "  Hi @Member_1 and @nobody_here, read https://example.com/x.\n\n\n\n\nBye  ")
	t.Run("Normalised", func(t *testing.T) {
		if p.Text != "Hi @Member_1 and @nobody_here, read https://example.com/x.\n\n\nBye" {
			t.Errorf("text = %q", p.Text)
		}
	})
	t.Run("Segments", func(t *testing.T) {
		var kinds []string
		for _, s := range p.Segments {
			kinds = append(kinds, s.Kind+":"+s.Text)
		}
		want := []string{"text:Hi ", "mention:@Member_1", "text: and @nobody_here, read ", "link:https://example.com/x",
			"text:.\n\n\nBye"}
		if d := cmp.Diff(want, kinds); d != "" {
			t.Errorf("segments (-want +got):\n%s", d)
		}
		if p.Segments[1].MemberID == nil || *p.Segments[1].MemberID != reader || p.Segments[1].Href != "/members/member_1" {
			t.Errorf("mention = %+v", p.Segments[1])
		}
	})
	t.Run("CoinsAndNotifications", func(t *testing.T) {
		if bal := b.balance(t, author); bal != 10 {
			t.Errorf("author balance = %d, want 10 (post.created)", bal)
		}
		if d := cmp.Diff([]string{"social.badge", "coins"}, b.notes(t, author)); d != "" {
			t.Errorf("author notifications (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"mention"}, b.notes(t, reader)); d != "" {
			t.Errorf("reader notifications (-want +got):\n%s", d)
		}
	})
	t.Run("Edit", func(t *testing.T) {
		e, err := b.svc.UpdatePost(b.m(0), p.ID, "Edited, still @member_1")
		if err != nil || e.EditedAt == nil || e.Text != "Edited, still @member_1" {
			t.Fatalf("UpdatePost() = %+v, %v", e, err)
		}
		if _, err := b.svc.UpdatePost(b.m(1), p.ID, "mine now"); code(err) != engine.CodeForbidden {
			t.Errorf("UpdatePost(not author) = %v, want forbidden", err)
		}
		// The same member mentioned again is not notified again.
		if d := cmp.Diff([]string{"mention"}, b.notes(t, reader)); d != "" {
			t.Errorf("reader notifications (-want +got):\n%s", d)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for _, text := range []string{"", "   \n ", "bell\a", "bidi \u202e trick", "\xff\xfe", strings.Repeat("x", 2001)} {
			if _, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: text}); code(err) != engine.CodeInvalid {
				t.Errorf("CreatePost(%q) = %v, want invalid", text, err)
			}
		}
		if _, err := b.svc.CreatePost(b.ctx, social.PostParams{Text: "anonymous"}); code(err) != engine.CodeUnauthenticated {
			t.Errorf("CreatePost(no principal) = %v, want unauthenticated", err)
		}
		if _, err := b.svc.Post(b.m(0), uuid.Must(uuid.NewV7())); code(err) != engine.CodeNotFound {
			t.Errorf("Post(unknown) = %v, want not_found", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if err := b.svc.DeletePost(b.m(1), p.ID); code(err) != engine.CodeForbidden {
			t.Errorf("DeletePost(not author) = %v, want forbidden", err)
		}
		if err := b.svc.DeletePost(b.m(0), p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Post(b.m(1), p.ID); code(err) != engine.CodeNotFound {
			t.Errorf("Post(deleted) = %v, want not_found", err)
		}
		page, err := b.svc.Feed(b.m(1), social.FeedParams{})
		if err != nil || len(page.Posts) != 0 {
			t.Errorf("Feed() = %d posts, %v; want none", len(page.Posts), err)
		}
		if bal := b.balance(t, author); bal != 0 {
			t.Errorf("author balance after delete = %d, want 0", bal)
		}
		prof, err := b.svc.Profile(b.m(1), "member_0")
		if err != nil || prof.PostCount != 0 || *prof.Coins != 0 {
			t.Errorf("Profile() = %+v, %v; want no posts, no coins", prof, err)
		}
		if err := b.svc.DeletePost(b.m(0), p.ID); code(err) != engine.CodeNotFound {
			t.Errorf("DeletePost(again) = %v, want not_found", err)
		}
	})
	b.verify(t)
}

func TestFeedPaging(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	var ids []uuid.UUID
	for i := range 7 {
		ids = append(ids, b.post(t, b.m(i%3), "post "+string(rune('a'+i))).ID)
	}
	var got []uuid.UUID
	cur := ""
	for range 5 {
		page, err := b.svc.Feed(b.m(0), social.FeedParams{Cursor: cur, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Posts {
			got = append(got, p.ID)
		}
		if cur = page.Next; cur == "" {
			break
		}
	}
	want := append([]uuid.UUID(nil), ids...)
	for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
		want[i], want[j] = want[j], want[i]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("paged feed (-want +got):\n%s", d)
	}
	for _, c := range []string{"nope", "eyJ0IjoxfQ", strings.Repeat("A", 300)} {
		if _, err := b.svc.Feed(b.m(0), social.FeedParams{Cursor: c}); code(err) != engine.CodeInvalid {
			t.Errorf("Feed(cursor %q) = %v, want invalid", c, err)
		}
	}
	if _, err := b.svc.Feed(b.m(0), social.FeedParams{Scope: "everything"}); code(err) != engine.CodeInvalid {
		t.Errorf("Feed(bad scope) = %v, want invalid", err)
	}
	if _, err := b.svc.Feed(b.m(0), social.FeedParams{Limit: 51}); code(err) != engine.CodeInvalid {
		t.Errorf("Feed(limit 51) = %v, want invalid", err)
	}

	// Following: the members I follow, and me.
	if err := b.svc.Follow(b.m(0), b.members[1]); err != nil {
		t.Fatal(err)
	}
	page, err := b.svc.Feed(b.m(0), social.FeedParams{Scope: social.ScopeFollowing, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range page.Posts {
		if p.Author.ID == b.members[2] {
			t.Errorf("following feed has a post of someone not followed")
		}
	}
	if len(page.Posts) != 5 { // posts 0, 3, 6 by me and 1, 4 by member 1
		t.Errorf("following feed = %d posts, want 5", len(page.Posts))
	}
	mine, err := b.svc.MemberPosts(b.m(1), social.MemberPostsParams{Member: "member_2"})
	if err != nil || len(mine.Posts) != 2 {
		t.Errorf("MemberPosts(member_2) = %d, %v; want 2", len(mine.Posts), err)
	}
}

func TestLikes(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	author, liker := b.members[0], b.members[1]
	p := b.post(t, b.m(0), "Like me")
	like := func(i int) social.LikeResult {
		t.Helper()
		r, err := b.svc.Like(b.m(i), p.ID)
		if err != nil {
			t.Fatalf("Like() = %v", err)
		}
		return r
	}
	unlike := func(i int) social.LikeResult {
		t.Helper()
		r, err := b.svc.Unlike(b.m(i), p.ID)
		if err != nil {
			t.Fatalf("Unlike() = %v", err)
		}
		return r
	}
	if r := like(1); r.LikeCount != 1 || !r.Liked {
		t.Errorf("Like() = %+v", r)
	}
	if r := like(1); r.LikeCount != 1 {
		t.Errorf("Like() again = %+v, want still 1", r)
	}
	if bal := b.balance(t, author); bal != 12 {
		t.Errorf("author balance = %d, want 12", bal)
	}
	got, _ := b.svc.Post(b.m(1), p.ID)
	if !got.Liked || got.LikeCount != 1 {
		t.Errorf("Post() for the liker = liked %v, %d likes", got.Liked, got.LikeCount)
	}
	if r := unlike(1); r.LikeCount != 0 {
		t.Errorf("Unlike() = %+v", r)
	}
	if bal := b.balance(t, author); bal != 10 {
		t.Errorf("author balance after unlike = %d, want 10", bal)
	}
	// Toggling earns nothing more and notifies once.
	for range 3 {
		like(1)
		unlike(1)
	}
	like(1)
	if bal := b.balance(t, author); bal != 10 {
		t.Errorf("author balance after toggling = %d, want 10", bal)
	}
	if d := cmp.Diff([]string{"social.badge", "coins", "like", "coins"}, b.notes(t, author)); d != "" {
		t.Errorf("author notifications (-want +got):\n%s", d)
	}
	// The stable key: the like.received award replays, it does not pay
	// again — even when the event is sent again after the reversal.
	d, err := b.rules.Award(b.as(liker, "member"), rules.Event{Type: social.EventLikeReceived, Member: author, Actor: &liker,
		Ref: "post:" + p.ID.String() + "/like:" + liker.String(), IdempotencyKey: "like:" + p.ID.String() + ":" + liker.String()})
	if err != nil || !d.Replayed || d.Granted != 2 {
		t.Errorf("Award(same like key) = %+v, %v; want the replayed first award", d, err)
	}
	if bal := b.balance(t, author); bal != 10 {
		t.Errorf("author balance after a replay = %d, want 10", bal)
	}
	// My own post: no coins, no notification.
	if _, err := b.svc.Like(b.m(0), p.ID); err != nil {
		t.Fatal(err)
	}
	if bal := b.balance(t, author); bal != 10 {
		t.Errorf("balance after liking my own post = %d, want 10", bal)
	}
	var events int
	b.sql(t, `SELECT count(*) FROM coin_events WHERE type = 'like.received' AND actor_id = $1`, []any{author}, &events)
	if events != 0 {
		t.Errorf("%d like.received events for liking my own post, want none", events)
	}
	if _, err := b.svc.Like(b.m(2), uuid.Must(uuid.NewV7())); code(err) != engine.CodeNotFound {
		t.Errorf("Like(unknown) = %v, want not_found", err)
	}
	b.verify(t)
}

func TestComments(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	author := b.members[0]
	p := b.post(t, b.m(0), "Discuss")
	c1, err := b.svc.CreateComment(b.m(1), social.CommentParams{Post: p.ID, Text: "First!"})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := b.svc.CreateComment(b.m(2), social.CommentParams{Post: p.ID, Parent: &c1.ID, Text: "Reply to @member_1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CreateComment(b.m(0), social.CommentParams{Post: p.ID, Parent: &r1.ID, Text: "Too deep"}); code(err) != engine.CodeInvalid {
		t.Errorf("reply to a reply = %v, want invalid", err)
	}
	own, err := b.svc.CreateComment(b.m(0), social.CommentParams{Post: p.ID, Text: "Thanks all"})
	if err != nil {
		t.Fatal(err)
	}
	other := b.post(t, b.m(1), "Another post")
	if _, err := b.svc.CreateComment(b.m(2), social.CommentParams{Post: other.ID, Parent: &c1.ID, Text: "Wrong post"}); code(err) != engine.CodeInvalid {
		t.Errorf("reply to another post's comment = %v, want invalid", err)
	}
	page, err := b.svc.Comments(b.m(1), social.CommentsParams{Post: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Comments) != 2 || page.Comments[0].ID != c1.ID || len(page.Comments[0].Replies) != 1 ||
		page.Comments[0].ReplyCount != 1 || page.Comments[1].ID != own.ID {
		t.Errorf("Comments() = %+v", page.Comments)
	}
	got, _ := b.svc.Post(b.m(1), p.ID)
	if got.CommentCount != 3 {
		t.Errorf("comment count = %d, want 3", got.CommentCount)
	}
	// Coins: 5 each for members 1 and 2; none for the author's own comment.
	for m, want := range map[uuid.UUID]int64{author: 10, b.members[1]: 15, b.members[2]: 5} {
		if bal := b.balance(t, m); bal != want {
			t.Errorf("balance of %v = %d, want %d", m, bal, want)
		}
	}
	if d := cmp.Diff([]string{"social.badge", "coins", "comment", "comment"}, b.notes(t, author)); d != "" {
		t.Errorf("author notifications (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"coins", "reply", "mention", "social.badge", "coins"}, b.notes(t, b.members[1])); d != "" {
		t.Errorf("member 1 notifications (-want +got):\n%s", d)
	}
	if _, err := b.svc.UpdateComment(b.m(2), c1.ID, "not mine"); code(err) != engine.CodeForbidden {
		t.Errorf("UpdateComment(not author) = %v", err)
	}
	if e, err := b.svc.UpdateComment(b.m(1), c1.ID, "First (edited)"); err != nil || e.EditedAt == nil {
		t.Errorf("UpdateComment() = %+v, %v", e, err)
	}
	// Deleting the top-level comment hides its reply and takes back its coins.
	if err := b.svc.DeleteComment(b.m(1), c1.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = b.svc.Post(b.m(1), p.ID)
	if got.CommentCount != 1 {
		t.Errorf("comment count after delete = %d, want 1", got.CommentCount)
	}
	if bal := b.balance(t, b.members[1]); bal != 10 {
		t.Errorf("commenter balance after delete = %d, want 10", bal)
	}
	if _, err := b.svc.Comment(b.m(0), r1.ID); code(err) != engine.CodeNotFound {
		t.Errorf("Comment(reply of a deleted comment) = %v, want not_found", err)
	}
	// The tenant pays for comments on your own post when it says so.
	st := social.DefaultSettings
	st.OwnPostCommentCoins = true
	if _, err := b.svc.UpdateSettings(b.as(b.user(t, "admin@example.com", "Admin", "admin"), "admin"), st); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CreateComment(b.m(0), social.CommentParams{Post: p.ID, Text: "Paid now"}); err != nil {
		t.Fatal(err)
	}
	if bal := b.balance(t, author); bal != 15 {
		t.Errorf("author balance = %d, want 15", bal)
	}
	b.verify(t)
}

func TestProfilesAndFollows(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ada := b.user(t, "ada@example.com", "Ada Lovelace", "member")
	ada2 := b.user(t, "ada2@example.com", "Ada  Lovelace!", "member")
	bob := b.user(t, "x@example.com", "Bo", "member")
	pa, err := b.svc.Profile(b.as(ada, "member"), ada.String())
	if err != nil || pa.Member.Handle != "ada_lovelace" {
		t.Fatalf("Profile(ada) = %+v, %v", pa, err)
	}
	pa2, _ := b.svc.Profile(b.as(ada, "member"), ada2.String())
	pb, _ := b.svc.Profile(b.as(ada, "member"), bob.String())
	if pa2.Member.Handle != "ada_lovelace2" || pb.Member.Handle != "member" {
		t.Errorf("handles = %q, %q; want ada_lovelace2 and member (too short a name)", pa2.Member.Handle, pb.Member.Handle)
	}
	if byHandle, err := b.svc.Profile(b.as(bob, "member"), "@ADA_Lovelace"); err != nil || byHandle.Member.ID != ada {
		t.Errorf("Profile(@ADA_Lovelace) = %+v, %v", byHandle, err)
	}
	h := "Bobby_Tables"
	bio := "Hello\x00"
	if _, err := b.svc.UpdateProfile(b.as(bob, "member"), social.ProfileParams{Handle: &h, Bio: &bio}); code(err) != engine.CodeInvalid {
		t.Errorf("UpdateProfile(bad bio) = %v", err)
	}
	bio = "I test things."
	p, err := b.svc.UpdateProfile(b.as(bob, "member"), social.ProfileParams{Handle: &h, Bio: &bio})
	if err != nil || p.Member.Handle != "bobby_tables" || p.Bio != bio {
		t.Errorf("UpdateProfile() = %+v, %v", p, err)
	}
	taken := "ADA_LOVELACE"
	if _, err := b.svc.UpdateProfile(b.as(bob, "member"), social.ProfileParams{Handle: &taken}); code(err) != engine.CodeConflict {
		t.Errorf("UpdateProfile(taken) = %v, want conflict", err)
	}
	bad := "no"
	if _, err := b.svc.UpdateProfile(b.as(bob, "member"), social.ProfileParams{Handle: &bad}); code(err) != engine.CodeInvalid {
		t.Errorf("UpdateProfile(short) = %v, want invalid", err)
	}

	// Follows.
	if err := b.svc.Follow(b.as(bob, "member"), bob); code(err) != engine.CodeInvalid {
		t.Errorf("Follow(self) = %v, want invalid", err)
	}
	for range 2 {
		if err := b.svc.Follow(b.as(bob, "member"), ada); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.svc.Follow(b.as(ada2, "member"), ada); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Follow(b.as(bob, "member"), uuid.Must(uuid.NewV7())); code(err) != engine.CodeNotFound {
		t.Errorf("Follow(unknown) = %v, want not_found", err)
	}
	pa, _ = b.svc.Profile(b.as(bob, "member"), "ada_lovelace")
	if pa.FollowerCount != 2 || !pa.Following {
		t.Errorf("Profile(ada) = followers %d, following %v; want 2, true", pa.FollowerCount, pa.Following)
	}
	fs, err := b.svc.Followers(b.as(bob, "member"), social.FollowParams{Member: "ada_lovelace", Limit: 1})
	if err != nil || len(fs.Members) != 1 || fs.Members[0].Member.ID != ada2 || fs.Next == "" {
		t.Fatalf("Followers() = %+v, %v", fs, err)
	}
	fs, _ = b.svc.Followers(b.as(bob, "member"), social.FollowParams{Member: "ada_lovelace", Cursor: fs.Next})
	if len(fs.Members) != 1 || fs.Members[0].Member.ID != bob || fs.Next != "" {
		t.Errorf("Followers() page 2 = %+v", fs)
	}
	fg, _ := b.svc.Following(b.as(ada, "member"), social.FollowParams{Member: bob.String()})
	if len(fg.Members) != 1 || fg.Members[0].Member.Handle != "ada_lovelace" {
		t.Errorf("Following(bob) = %+v", fg)
	}
	if d := cmp.Diff([]string{"follow", "follow"}, b.notes(t, ada)); d != "" {
		t.Errorf("ada's notifications (-want +got):\n%s", d)
	}
	if err := b.svc.Unfollow(b.as(bob, "member"), ada); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Follow(b.as(bob, "member"), ada); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"follow", "follow"}, b.notes(t, ada)); d != "" {
		t.Errorf("ada's notifications after refollowing (-want +got):\n%s", d)
	}
	pb, _ = b.svc.Profile(b.as(bob, "member"), "bobby_tables")
	if pb.FollowingCount != 1 {
		t.Errorf("bob following = %d, want 1", pb.FollowingCount)
	}
}

func TestBadges(t *testing.T) {
	t.Parallel()
	b := setup(t, 11)
	p := b.post(t, b.m(0), "One")
	for i := 1; i <= 10; i++ {
		if _, err := b.svc.Like(b.m(i), p.ID); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Follow(b.m(i), b.members[0]); err != nil {
			t.Fatal(err)
		}
	}
	prof, err := b.svc.Profile(b.m(1), b.members[0].String())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, bd := range prof.Badges {
		keys = append(keys, bd.Key)
	}
	if d := cmp.Diff([]string{"first_post", "likes_received_10", "followers_10"}, keys); d != "" {
		t.Errorf("badges (-want +got):\n%s", d)
	}
	if prof.LikesReceived != 10 || *prof.Coins != 10+10*2 {
		t.Errorf("profile = likes %d coins %d", prof.LikesReceived, *prof.Coins)
	}
	// Going below and above again awards nothing twice.
	if _, err := b.svc.Unlike(b.m(1), p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Like(b.m(1), p.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	b.sql(t, `SELECT count(*) FROM social_badges WHERE member_id = $1`, []any{b.members[0]}, &n)
	if n != 3 {
		t.Errorf("%d badges, want 3", n)
	}
}

func TestAbuse(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	admin := b.as(b.user(t, "admin@example.com", "Admin", "admin"), "admin")
	st := social.DefaultSettings
	st.BlockedWords = []string{"  Spam ", "buy now", "spam"}
	st.PostsPerHour = 2
	st.NewAccountHours = 24
	saved, err := b.svc.UpdateSettings(admin, st)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"spam", "buy now"}, saved.BlockedWords); d != "" {
		t.Errorf("blocked words (-want +got):\n%s", d)
	}
	if _, err := b.svc.UpdateSettings(b.m(0), st); code(err) != engine.CodeForbidden {
		t.Errorf("UpdateSettings(member) = %v, want forbidden", err)
	}
	for _, text := range []string{"SPAM here", "Please BUY  now"} {
		_, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: text})
		if text == "Please BUY  now" {
			if err != nil {
				t.Errorf("CreatePost(%q) = %v; two spaces are another phrase", text, err)
			}
			continue
		}
		if code(err) != engine.CodeInvalid || !strings.Contains(engine.ErrorMessage(err), "does not allow") {
			t.Errorf("CreatePost(%q) = %v, want the blocked-word refusal", text, err)
		}
	}
	if _, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "spammer and antispam are fine"}); err != nil {
		t.Errorf("whole words only: %v", err)
	}
	// The hour's two posts are used up.
	_, err = b.svc.CreatePost(b.m(0), social.PostParams{Text: "third"})
	if code(err) != engine.CodeRateLimited {
		t.Errorf("third post in an hour = %v, want rate_limited", err)
	}
	// A new account: no links, no coins.
	if _, err := b.svc.CreatePost(b.m(1), social.PostParams{Text: "see https://spam.example"}); code(err) != engine.CodeInvalid {
		t.Errorf("new account link = %v, want invalid", err)
	}
	p := b.post(t, b.m(1), "no link")
	if bal := b.balance(t, b.members[1]); bal != 0 {
		t.Errorf("new account balance = %d, want 0", bal)
	}
	b.clock.Advance(25 * time.Hour)
	if _, err := b.svc.Like(b.m(0), p.ID); err != nil {
		t.Fatal(err)
	}
	if bal := b.balance(t, b.members[1]); bal != 2 {
		t.Errorf("balance once no longer new = %d, want 2", bal)
	}
}

// pngBytes encodes a w×h PNG.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImagesAndCleanup(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	up, err := b.svc.UploadImage(b.m(0), bytes.NewReader(pngBytes(t, 3, 2)), "image/png")
	if err != nil || up.Width != 3 || up.Height != 2 || up.ContentType != "image/png" {
		t.Fatalf("UploadImage() = %+v, %v", up, err)
	}
	for name, tt := range map[string]struct {
		data []byte
		ct   string
	}{
		"SVG":      {[]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "image/svg+xml"},
		"SVGAsPNG": {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), "image/png"},
		"Mismatch": {pngBytes(t, 1, 1), "image/jpeg"},
		"Garbage":  {[]byte("not an image at all"), "image/png"},
		"TooLarge": {bytes.Repeat([]byte{0}, 6<<20), "image/png"},
	} {
		if _, err := b.svc.UploadImage(b.m(0), bytes.NewReader(tt.data), tt.ct); code(err) != engine.CodeInvalid {
			t.Errorf("UploadImage(%s) = %v, want invalid", name, err)
		}
	}
	stray, err := b.svc.UploadImage(b.m(0), bytes.NewReader(pngBytes(t, 1, 1)), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CreatePost(b.m(1), social.PostParams{Text: "not mine", Images: []uuid.UUID{up.ID}}); code(err) != engine.CodeInvalid {
		t.Errorf("CreatePost(someone else's image) = %v, want invalid", err)
	}
	p, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "with a picture", Images: []uuid.UUID{up.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Images) != 1 || !strings.HasPrefix(p.Images[0].URL, "https://test.example/files/") {
		t.Errorf("post images = %+v", p.Images)
	}
	if _, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "again", Images: []uuid.UUID{up.ID}}); code(err) != engine.CodeInvalid {
		t.Errorf("CreatePost(attached image) = %v, want invalid", err)
	}
	page, _ := b.svc.Feed(b.m(1), social.FeedParams{})
	if len(page.Posts) != 1 || len(page.Posts[0].Images) != 1 || page.Posts[0].Images[0].Width != 3 {
		t.Errorf("feed images = %+v", page.Posts)
	}
	var key string
	b.sql(t, `SELECT key FROM social_images WHERE id = $1`, []any{up.ID}, &key)
	if !strings.HasPrefix(key, b.tenant.String()+"/social/") || !strings.HasSuffix(key, ".png") {
		t.Errorf("key = %q", key)
	}

	// Cleanup: a deleted post past retention goes with its image; a stray
	// upload after a day.
	c, err := b.svc.CreateComment(b.m(1), social.CommentParams{Post: p.ID, Text: "nice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.svc.DeletePost(b.m(0), p.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Cleanup(b.ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var n int
	b.sql(t, `SELECT count(*) FROM social_posts`, nil, &n)
	if n != 1 {
		t.Errorf("posts after an early cleanup = %d, want 1 (retention)", n)
	}
	b.clock.Advance(31 * 24 * time.Hour)
	if err := b.plugin.Jobs()[0].Run(b.ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	b.sql(t, `SELECT (SELECT count(*) FROM social_posts) + (SELECT count(*) FROM social_images) + (SELECT count(*) FROM social_comments)`, nil, &n)
	if n != 0 {
		t.Errorf("%d posts, images and comments left after cleanup, want 0", n)
	}
	for _, k := range []string{key, b.tenant.String() + "/social/" + stray.ID.String() + ".png"} {
		if _, _, err := b.blobs.Open(b.ctx, k); code(err) != engine.CodeNotFound {
			t.Errorf("Open(%s) after cleanup = %v, want not_found", k, err)
		}
	}
	_ = c
	if j := b.plugin.Jobs(); len(j) != 1 || j[0].Kind != "social.cleanup" || j[0].Hour != 3 || j[0].Minute != 30 {
		t.Errorf("Jobs() = %+v", j)
	}
}

func TestCreatePost_IdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	key := uuid.Must(uuid.NewV7()).String()
	first, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "Once", IdempotencyKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Replayed", func(t *testing.T) {
		again, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "  Once \n", IdempotencyKey: key})
		if err != nil || again.ID != first.ID {
			t.Errorf("CreatePost(same key) = %v, %v; want the first post %v", again.ID, err, first.ID)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		key := uuid.Must(uuid.NewV7()).String()
		ids := make([]uuid.UUID, 8)
		errs := concurrently(len(ids), func(i int) error {
			p, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "At once", IdempotencyKey: key})
			ids[i] = p.ID
			return err
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if id != ids[0] {
				t.Errorf("concurrent posts with one key = %v, want one post", ids)
				break
			}
		}
	})
	t.Run("OtherText", func(t *testing.T) {
		if _, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "Twice", IdempotencyKey: key}); code(err) != engine.CodeInvalid {
			t.Errorf("CreatePost(same key, other text) = %v, want invalid", err)
		}
		if _, err := b.svc.CreatePost(b.m(0), social.PostParams{Text: "Long key", IdempotencyKey: strings.Repeat("k", 201)}); code(err) != engine.CodeInvalid {
			t.Errorf("CreatePost(201-character key) = %v, want invalid", err)
		}
	})
	page, err := b.svc.MemberPosts(b.m(0), social.MemberPostsParams{Member: b.members[0].String()})
	if err != nil || len(page.Posts) != 2 {
		t.Errorf("MemberPosts() = %d posts, %v; want 2", len(page.Posts), err)
	}
	if bal := b.balance(t, b.members[0]); bal != 20 {
		t.Errorf("balance = %d, want 20 (two posts paid once each)", bal)
	}
	if err := b.svc.CheckPost(b.m(0), "", 5); !slices.Equal(fields(err), []string{"images", "text"}) {
		t.Errorf("CheckPost(empty, 5 images) fields = %v", fields(err))
	}
	b.verify(t)
}
