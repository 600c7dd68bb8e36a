package social

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
)

// webProfileView is a member's profile page: who they are, their counts and
// badges, the follow button, and a page of their posts.
type webProfileView struct {
	Notice    string
	Member    webAuthor
	Bio       string
	Joined    webTime
	Posts     int
	Followers int
	Following int
	Likes     int64
	// Coins is what they earned here, when the community shows it.
	Coins     *int64
	Badges    []webBadge
	Suspended *webTime // to the member and moderators only
	// FollowersURL and FollowingURL list them.
	FollowersURL string
	FollowingURL string
	// Follow is the follow button (not on your own profile, nor for
	// visitors: SignIn links them to sign in); Own links to the handle
	// and bio form.
	Follow *webFollow
	SignIn string
	Own    string
	List   []webPost
	Pager  webPager
}

// webBadge is a badge as the profile shows it.
type webBadge struct {
	Key   string
	Title string
	When  webTime
}

// webFollow is the follow button: a form posting to follow or unfollow,
// coming back to Return.
type webFollow struct {
	Following bool
	Action    string
	Return    string
	// Followers is the profile's follower count, updated out of band
	// when htmx swaps the button.
	Followers int
	Error     string
}

func webFollowOf(r *http.Request, f plugin.Frame, handle string, following bool, followers int, back string) webFollow {
	verb := "/follow"
	if following {
		verb = "/unfollow"
	}
	return webFollow{Following: following, Action: f.Path(r, "/members/"+handle+verb), Return: back, Followers: followers}
}

func (p *Plugin) profilePage(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	ctx := r.Context()
	handle := r.PathValue("handle")
	prof, err := p.svc.Profile(ctx, handle)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	if handle != prof.Member.Handle {
		// An ID, an old spelling or another case: the handle's page.
		u := "/members/" + prof.Member.Handle
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, f.Path(r, u), http.StatusSeeOther)
		return
	}
	me, signedIn := webMember(r)
	cursor := r.URL.Query().Get("cursor")
	page, err := p.svc.MemberPosts(ctx, MemberPostsParams{Member: prof.Member.ID.String(), Cursor: cursor, Limit: webPageSize})
	if engine.ErrorCode(err) == engine.CodeInvalid {
		err = engine.Errorf(engine.CodeInvalid, "This page of posts is no longer available. Start again from the newest posts.")
	}
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	base := "/members/" + prof.Member.Handle
	v := webProfileView{
		Notice: webNotice(r), Member: webAuthorOf(r, f, prof.Member), Bio: prof.Bio, Joined: p.webTime(prof.JoinedAt),
		Posts: prof.PostCount, Followers: prof.FollowerCount, Following: prof.FollowingCount, Likes: prof.LikesReceived,
		Coins: prof.Coins, FollowersURL: f.Path(r, base+"/followers"), FollowingURL: f.Path(r, base+"/following"),
	}
	for _, b := range prof.Badges {
		v.Badges = append(v.Badges, webBadge{Key: b.Key, Title: b.Title, When: p.webTime(b.AwardedAt)})
	}
	if prof.SuspendedUntil != nil {
		t := p.webTime(*prof.SuspendedUntil)
		v.Suspended = &t
	}
	switch {
	case !signedIn:
		v.SignIn = webSignInLink(r, f, base)
	case me == prof.Member.ID:
		v.Own = f.Path(r, "/me/social")
	default:
		fb := webFollowOf(r, f, prof.Member.Handle, prof.Following, prof.FollowerCount, webHere(r))
		v.Follow = &fb
	}
	for _, post := range page.Posts {
		v.List = append(v.List, p.webPostOf(r, f, me, post, webHere(r)))
	}
	if page.Next != "" {
		v.Pager.Next = webPageLink(r, f, base, "cursor", page.Next)
		v.Pager.NextLabel = "Older posts"
	}
	if cursor != "" {
		v.Pager.First = f.Path(r, base)
	}
	webRender(w, r, f, http.StatusOK, v.Member.Name+" (@"+v.Member.Handle+")", webProfilePage(v))
}

// webFollowListView is a page of a member's followers or of whom they
// follow.
type webFollowListView struct {
	Member    webAuthor
	Followers bool // which list
	Entries   []webFollowEntry
	Pager     webPager
}

// webFollowEntry is one member of a follow list.
type webFollowEntry struct {
	Member webAuthor
	Since  webTime
}

func (p *Plugin) followListPage(followers bool) func(http.ResponseWriter, *http.Request, plugin.Frame) {
	return func(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
		ctx := r.Context()
		prof, err := p.svc.Profile(ctx, r.PathValue("handle"))
		if err != nil {
			f.Fail(w, r, err)
			return
		}
		list, path, title := p.svc.Following, "/following", "Following"
		if followers {
			list, path, title = p.svc.Followers, "/followers", "Followers"
		}
		path = "/members/" + prof.Member.Handle + path
		cursor := r.URL.Query().Get("cursor")
		page, err := list(ctx, FollowParams{Member: prof.Member.ID.String(), Cursor: cursor, Limit: 50})
		if engine.ErrorCode(err) == engine.CodeInvalid {
			err = engine.Errorf(engine.CodeInvalid, "This page of the list is no longer available. Start again from the top.")
		}
		if err != nil {
			f.Fail(w, r, err)
			return
		}
		v := webFollowListView{Member: webAuthorOf(r, f, prof.Member), Followers: followers}
		for _, e := range page.Members {
			v.Entries = append(v.Entries, webFollowEntry{Member: webAuthorOf(r, f, e.Member), Since: p.webTime(e.Since)})
		}
		if page.Next != "" {
			v.Pager.Next = webPageLink(r, f, path, "cursor", page.Next)
			v.Pager.NextLabel = "More"
		}
		if cursor != "" {
			v.Pager.First = f.Path(r, path)
		}
		webRender(w, r, f, http.StatusOK, title+" · "+v.Member.Name, webFollowListPage(v))
	}
}

// follow follows (or unfollows) the member of r's {handle}. htmx gets the
// button (and the follower count, out of band); a plain form goes back.
func (p *Plugin) follow(follow bool) func(http.ResponseWriter, *http.Request, plugin.Frame) {
	return func(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
		ctx := r.Context()
		handle := r.PathValue("handle")
		back := webReturn(r.PostFormValue("return"), "/members/"+handle)
		if _, ok := webMember(r); !ok {
			webSignIn(w, r, f, back)
			return
		}
		prof, err := p.svc.Profile(ctx, handle)
		if err == nil {
			if follow {
				err = p.svc.Follow(ctx, prof.Member.ID)
			} else {
				err = p.svc.Unfollow(ctx, prof.Member.ID)
			}
		}
		if !webHTMX(r) {
			if err != nil {
				f.Fail(w, r, err)
				return
			}
			webRedirect(w, r, f, back)
			return
		}
		switch engine.ErrorCode(err) {
		case "":
		case engine.CodeInternal, engine.CodeNotFound, engine.CodeUnauthenticated:
			f.Fail(w, r, err)
			return
		default:
			form := newWebForm()
			webFail(w, r, f, err, &form)
			fb := webFollowOf(r, f, prof.Member.Handle, prof.Following, prof.FollowerCount, back)
			fb.Error = form.Error
			webFragment(w, r, f, http.StatusUnprocessableEntity, webFollowButton(fb, false))
			return
		}
		prof, err = p.svc.Profile(ctx, prof.Member.ID.String())
		if err != nil {
			f.Fail(w, r, err)
			return
		}
		webFragment(w, r, f, http.StatusOK, webFollowButton(webFollowOf(r, f, prof.Member.Handle, prof.Following, prof.FollowerCount, back), true))
	}
}

// webSettingsView is the member's own social settings: handle and bio.
type webSettingsView struct {
	Action  string
	Profile string // their public page
	Form    webForm
}

// webMySocial returns the signed-in member's ID, or sends a visitor to sign
// in and back to the settings.
func webMySocial(w http.ResponseWriter, r *http.Request, f plugin.Frame) (uuid.UUID, bool) {
	me, ok := webMember(r)
	if !ok {
		webSignIn(w, r, f, "/me/social")
	}
	return me, ok
}

func (p *Plugin) settingsPage(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	me, ok := webMySocial(w, r, f)
	if !ok {
		return
	}
	prof, err := p.svc.Profile(r.Context(), me.String())
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	v := webSettingsView{Action: f.Path(r, "/me/social"), Profile: f.Path(r, "/members/"+prof.Member.Handle), Form: newWebForm()}
	v.Form.Values["handle"], v.Form.Values["bio"] = prof.Member.Handle, prof.Bio
	webRender(w, r, f, http.StatusOK, "Your social profile", webSettingsPage(v))
}

func (p *Plugin) saveSettings(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	me, ok := webMySocial(w, r, f)
	if !ok {
		return
	}
	ctx := r.Context()
	v := webSettingsView{Action: f.Path(r, "/me/social"), Form: newWebForm()}
	handle, bio := r.PostFormValue("handle"), r.PostFormValue("bio")
	v.Form.Values["handle"], v.Form.Values["bio"] = handle, bio
	prof, err := p.svc.UpdateProfile(ctx, ProfileParams{Handle: &handle, Bio: &bio})
	if err != nil {
		fe := webFail(w, r, f, err, &v.Form, "handle", "bio")
		if fe.handled {
			return
		}
		if cur, err := p.svc.Profile(ctx, me.String()); err == nil {
			v.Profile = f.Path(r, "/members/"+cur.Member.Handle)
		}
		webRender(w, r, f, fe.status, "Your social profile", webSettingsPage(v))
		return
	}
	webRedirect(w, r, f, withDone("/members/"+prof.Member.Handle, "profile-saved"))
}
