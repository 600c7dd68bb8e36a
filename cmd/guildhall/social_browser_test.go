package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSocial_InBrowser drives the social plugin of `guildhall dev` in two
// headless Chromium browsers, as two members of the demo tenant makers
// would use it at the same time: the owner posts from the feed and earns
// the post.created coins; the member likes the post; without reloading,
// the owner's page shows the live toast, a higher unread count and the
// new balance. Unliking takes the like's coins back and liking again pays
// nothing, so toggling cannot farm coins; the owner's notifications list
// the like once.
func TestSocial_InBrowser(t *testing.T) {
	t.Parallel()
	s := startDev(t)
	api := s.URL + "/t/makers/api/v1"
	tenantBase := strings.Replace(s.URL, "127.0.0.1", "makers.localhost", 1)
	bearer := func(email string) map[string]string {
		t.Helper()
		r := call(t, "POST", api+"/auth/sign-in", "", `{"email":"`+email+`","password":"`+demoPassword+`"}`, nil)
		if r.status != 200 {
			t.Fatalf("API sign-in of %s = %d %s", email, r.status, r.body)
		}
		return bearerAuth(r.json["access_token"].(string))
	}
	ownerAPI := bearer("owner@makers.example")
	// ownerBalance is the owner's balance as the API has it.
	ownerBalance := func() int {
		t.Helper()
		r := call(t, "GET", api+"/wallet", "", "", ownerAPI)
		if r.status != 200 {
			t.Fatalf("get-my-wallet = %d %s", r.status, r.body)
		}
		return int(r.json["balance"].(float64))
	}
	// ruleCoins is what the tenant's rule for an event type pays.
	ruleCoins := func(eventType string) int {
		t.Helper()
		r := call(t, "GET", api+"/rules", "", "", ownerAPI)
		for _, x := range r.json["rules"].([]any) {
			if rule := x.(map[string]any); rule["event_type"] == eventType {
				return int(rule["coins"].(float64))
			}
		}
		t.Fatalf("list-rules = %d, no rule for %s: %s", r.status, eventType, r.body)
		return 0
	}
	postCoins, likeCoins := ruleCoins("post.created"), ruleCoins("like.received")
	if postCoins <= 0 || likeCoins <= 0 {
		t.Fatalf("the demo rules pay %d for a post and %d for a like, want both above 0", postCoins, likeCoins)
	}

	owner, member := newBrowser(t), newBrowser(t)
	signIn := func(b *browser, email string) {
		t.Helper()
		b.do(
			chromedp.Navigate(tenantBase+"/sign-in"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="sign-in-form"]`)),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), demoPassword),
			chromedp.Click(chromedp.CSS(`[data-testid="sign-in-form"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="header-balance"]`)),
		)
	}
	// headerCoins reads the header's balance ("1,250 coins") as a number.
	headerCoins := func(b *browser) int {
		t.Helper()
		text := strings.TrimSpace(b.text(`[data-testid="header-balance"]`))
		n, err := strconv.Atoi(strings.ReplaceAll(strings.Fields(text)[0], ",", ""))
		if err != nil {
			t.Fatalf("header balance %q is not a count of coins", text)
		}
		return n
	}
	// unread is the bell's badge: 0 when hidden.
	unread := func(b *browser) int {
		t.Helper()
		out, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](
			`(e => e && !e.hidden ? parseInt(e.textContent, 10) || 0 : 0)(document.querySelector('[data-testid="unread-count"]'))`))
		if err != nil {
			t.Fatalf("browser: unread count: %v", err)
		}
		return out
	}
	// holds is whether a JavaScript condition is true in b's page now.
	holds := func(b *browser, js string) func() bool {
		return func() bool {
			ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
			return err == nil && ok
		}
	}

	// The owner opens the feed from the app's navigation and posts.
	signIn(owner, "owner@makers.example")
	start := ownerBalance()
	if got := headerCoins(owner); got != start {
		t.Errorf("owner's header shows %d coins, the API %d", got, start)
	}
	owner.do(
		chromedp.Click(chromedp.CSS(`[data-testid="app-nav"] a[href="/feed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="compose-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="compose-text"]`), "Open workshop on Saturday: bring a project."),
		chromedp.Click(chromedp.CSS(`[data-testid="compose-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="social-notice"]`)),
	)
	first := `[data-testid="feed-items"] [data-testid="post"]:first-child `
	if got := owner.text(first + `[data-testid="post-text"]`); !strings.Contains(got, "Open workshop on Saturday") {
		t.Fatalf("the feed's newest post says %q, want the one just posted", got)
	}
	postID, err := chromedp.Run(owner.ctx, chromedp.Evaluate[string](
		`document.querySelector('[data-testid="feed-items"] [data-testid="post"]').dataset.postId`))
	if err != nil || postID == "" {
		t.Fatalf("post id of the new post: %q %v", postID, err)
	}
	afterPost := start + postCoins
	if got := ownerBalance(); got != afterPost {
		t.Errorf("owner's balance after posting = %d, want %d + %d", got, start, postCoins)
	}
	if got := headerCoins(owner); got != afterPost {
		t.Errorf("owner's header after posting shows %d coins, want %d", got, afterPost)
	}
	// The owner's live connection resumes from the page's seq: whenever it
	// opens, nothing committed after the page was made is missed.
	unreadBefore := unread(owner)
	// A mark on the page's window proves later that it was never reloaded.
	owner.do(chromedp.Evaluate[chromedp.Void](`window.__stillThisPage = true`))
	owner.screenshot("posted")

	// The member likes the post in the other browser.
	signIn(member, "member@makers.example")
	card := `[data-post-id="` + postID + `"] `
	// toggleLike presses the member's like button and waits for the state
	// it leads to; the count shown must then be want.
	toggleLike := func(liked bool, want, what string) {
		t.Helper()
		member.do(
			chromedp.Click(chromedp.CSS(card+`[data-testid="like-button"]`)),
			chromedp.WaitVisible(chromedp.CSS(card+`[data-testid="like-form"][data-liked="`+strconv.FormatBool(liked)+`"]`)),
		)
		if got := member.text(card + `[data-testid="like-count"]`); strings.TrimSpace(got) != want {
			t.Errorf("like count after %s = %q, want %s", what, got, want)
		}
	}
	member.do(
		chromedp.Navigate(tenantBase+"/feed"),
		chromedp.WaitVisible(chromedp.CSS(card+`[data-testid="like-button"]`)),
	)
	toggleLike(true, "1", "the like")

	// The owner's page, never reloaded, tells of the like and the coins.
	afterLike := afterPost + likeCoins
	eventually(t, 20*time.Second, func() bool { return headerCoins(owner) == afterLike },
		"the owner's header balance did not rise by the like's coins")
	eventually(t, 20*time.Second, holds(owner,
		`(e => e && !e.hidden && e.textContent.trim() !== '')(document.querySelector('[data-testid="live-toast"]'))`),
		"the owner's page showed no toast")
	eventually(t, 20*time.Second, holds(owner,
		`(e => e && !e.hidden && parseInt(e.textContent, 10) >= `+strconv.Itoa(unreadBefore+2)+`)(document.querySelector('[data-testid="unread-count"]'))`),
		"the owner's unread count did not rise")
	if got := unread(owner); got != unreadBefore+2 {
		t.Errorf("owner's unread count went from %d to %d, want two more: the like and its coins", unreadBefore, got)
	}
	if got := owner.text(`[data-testid="live-toast"]`); !strings.Contains(got, "Mel Member") && !strings.Contains(got, "coin") {
		t.Errorf("toast says %q, want the like or its coins", got)
	}
	if still, err := chromedp.Run(owner.ctx, chromedp.Evaluate[bool](`window.__stillThisPage === true`)); err != nil || !still {
		t.Errorf("the owner's page was reloaded or left (at %s)", owner.location())
	}
	owner.screenshot("live")
	if got := ownerBalance(); got != afterLike {
		t.Errorf("owner's balance after the like = %d, want %d", got, afterLike)
	}

	// Unliking takes the like's coins back; liking again pays nothing.
	toggleLike(false, "0", "the unlike")
	if got := ownerBalance(); got != afterPost {
		t.Errorf("owner's balance after the unlike = %d, want %d (the like's coins taken back)", got, afterPost)
	}
	toggleLike(true, "1", "liking again")
	if got := ownerBalance(); got != afterPost {
		t.Errorf("owner's balance after like, unlike, like = %d, want %d (liking again pays nothing)", got, afterPost)
	}

	// The owner's notifications list the like, linking to the post.
	owner.do(
		chromedp.Click(chromedp.CSS(`[data-testid="header-notifications"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notification-list"]`)),
	)
	texts, err := chromedp.Run(owner.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-testid="notification-text"]'), e => e.innerText.trim())`))
	if err != nil {
		t.Fatalf("browser: notification texts: %v", err)
	}
	likes := 0
	for _, s := range texts {
		if strings.Contains(s, "liked your post") && strings.Contains(s, "Mel Member") {
			likes++
		}
	}
	// The seeded welcome post's like is there too; this post's is one more.
	if likes != 2 {
		t.Errorf("notifications %q name %d likes by Mel Member, want 2 (the seeded post's and this one's: a like again is not news)", texts, likes)
	}
	links, err := chromedp.Run(owner.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-testid="notification-link"]'), e => e.getAttribute('href'))`))
	if err != nil {
		t.Fatalf("browser: notification links: %v", err)
	}
	if len(links) == 0 {
		t.Errorf("notifications have no links")
	}
	owner.screenshot("notifications")
	if got := headerCoins(owner); got != afterPost {
		t.Errorf("owner's header on the notifications page shows %d coins, want %d", got, afterPost)
	}
}
