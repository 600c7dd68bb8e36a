package social

import (
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
)

// webImageTypes is what the compose form's file input accepts.
const webImageTypes = "image/png,image/jpeg,image/gif,image/webp"

// webFeedView is the feed page: the tabs, the compose box for members, a
// page of posts.
type webFeedView struct {
	Notice string
	Scope  string
	// Community and Following are the tabs' links.
	Community string
	Following string
	// Me is the signed-in member's profile link and handle; nil for
	// visitors.
	Me *webAuthor
	// Settings links members to their handle and bio.
	Settings string
	Compose  *webComposeView
	// SignIn links visitors to sign in and back.
	SignIn string
	Posts  []webPost
	Pager  webPager
}

// webComposeView is the compose box: a multipart form with the text, the
// images and the idempotency key it was rendered with.
type webComposeView struct {
	Action    string
	Form      webForm // text, key, scope
	MaxLength int
	// MaxImages is how many images a post may have; 0 hides the input
	// (no image store, or the community allows none). MaxImageBytes is
	// the size of each.
	MaxImages     int
	MaxImageBytes int
}

// ensureKey gives the form a fresh idempotency key when it has none or
// one the Service would refuse: such a form is sent, not refused.
func (c *webComposeView) ensureKey() {
	if k := c.Form.Get("key"); k == "" || len(k) > 200 {
		c.Form.Values["key"] = uuid.Must(uuid.NewV7()).String()
	}
}

func (p *Plugin) feedPage(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	p.renderFeed(w, r, f, http.StatusOK, nil)
}

// renderFeed answers the feed of r's query (?scope, ?cursor) with status,
// and compose as the compose box (nil: a fresh one).
func (p *Plugin) renderFeed(w http.ResponseWriter, r *http.Request, f plugin.Frame, status int, compose *webComposeView) {
	ctx := r.Context()
	me, signedIn := webMember(r)
	q := r.URL.Query()
	scope := ScopeCommunity
	if q.Get("scope") == ScopeFollowing || (compose != nil && compose.Form.Get("scope") == ScopeFollowing) {
		scope = ScopeFollowing
	}
	if scope == ScopeFollowing && !signedIn {
		webSignIn(w, r, f, "/feed?scope="+ScopeFollowing)
		return
	}
	cursor := q.Get("cursor")
	if r.Method != http.MethodGet {
		cursor = ""
	}
	page, err := p.svc.Feed(ctx, FeedParams{Scope: scope, Cursor: cursor, Limit: webPageSize})
	if engine.ErrorCode(err) == engine.CodeInvalid {
		err = engine.Errorf(engine.CodeInvalid, "This page of the feed is no longer available. Start again from the newest posts.")
	}
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	v := webFeedView{
		Notice: webNotice(r), Scope: scope,
		Community: f.Path(r, "/feed"), Following: f.Path(r, "/feed?scope="+ScopeFollowing),
	}
	back := "/feed"
	if scope == ScopeFollowing {
		back += "?scope=" + ScopeFollowing
	}
	if signedIn {
		if compose == nil {
			compose = &webComposeView{Form: newWebForm()}
			compose.ensureKey()
		}
		compose.Form.Values["scope"] = scope
		if err := p.composeLimits(r, f, compose); err != nil {
			f.Fail(w, r, err)
			return
		}
		v.Compose = compose
		if prof, err := p.svc.Profile(ctx, me.String()); err == nil {
			a := webAuthorOf(r, f, prof.Member)
			v.Me, v.Settings = &a, f.Path(r, "/me/social")
		} else {
			// The feed is still worth showing without the member's link.
			p.svc.d.Log.WarnContext(ctx, "read own social profile", "error", err)
		}
	} else {
		v.SignIn = webSignInLink(r, f, back)
	}
	here := webHere(r)
	if r.Method != http.MethodGet {
		here = back
	}
	for _, post := range page.Posts {
		v.Posts = append(v.Posts, p.webPostOf(r, f, me, post, here))
	}
	if page.Next != "" {
		v.Pager.Next = webPageLink(r, f, "/feed", "scope", webScopeParam(scope), "cursor", page.Next)
		v.Pager.NextLabel = "Older posts"
	}
	if cursor != "" {
		v.Pager.First = webPageLink(r, f, "/feed", "scope", webScopeParam(scope))
	}
	webRender(w, r, f, status, "Feed", webFeedPage(v))
}

// webScopeParam is scope as the feed's query says it: community is the
// default and goes unsaid.
func webScopeParam(scope string) string {
	if scope == ScopeCommunity {
		return ""
	}
	return scope
}

// composeLimits fills in the compose box's action and the tenant's limits.
func (p *Plugin) composeLimits(r *http.Request, f plugin.Frame, c *webComposeView) error {
	st, err := p.svc.Settings(r.Context())
	if err != nil {
		return err
	}
	c.Action = f.Path(r, "/posts")
	c.MaxLength = st.MaxPostLength
	if p.svc.d.Blobs != nil {
		c.MaxImages, c.MaxImageBytes = st.MaxImagesPerPost, st.MaxImageBytes
	}
	return nil
}

// createPost publishes the compose form: it checks the text, uploads each
// image (UploadImage) and creates the post with their IDs and the form's
// idempotency key, then goes to the feed. A problem brings the form back
// with the text (the browser forgets chosen files: the message says to
// choose them again).
func (p *Plugin) createPost(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	ctx := r.Context()
	if _, ok := webMember(r); !ok {
		webSignIn(w, r, f, "/feed")
		return
	}
	st, err := p.svc.Settings(ctx)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	// Room for every image at its largest, and the text.
	r.Body = http.MaxBytesReader(w, r.Body, int64(max(st.MaxImagesPerPost, 1))*int64(st.MaxImageBytes)+1<<20)
	c := &webComposeView{Form: newWebForm()}
	files, perr := webParsePost(r)
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	for _, n := range []string{"text", "key", "scope"} {
		c.Form.Values[n] = r.PostFormValue(n)
	}
	c.ensureKey()
	again := func(status int) {
		if len(files) > 0 && c.Form.Invalid() {
			c.Form.Errors["images"] = strings.TrimSpace(c.Form.Errors["images"] + " Choose the images again before you send.")
		}
		p.renderFeed(w, r, f, status, c)
	}
	if _, tooLarge := errors.AsType[*http.MaxBytesError](perr); tooLarge {
		c.Form.Errors["images"] = fmt.Sprintf("The images are too large: at most %d images of %s each.", st.MaxImagesPerPost, webBytes(st.MaxImageBytes))
		again(http.StatusRequestEntityTooLarge)
		return
	}
	if perr != nil {
		c.Form.Error = "The form could not be read. Please try again."
		again(http.StatusBadRequest)
		return
	}
	if err := p.svc.CheckPost(ctx, c.Form.Get("text"), len(files)); err != nil {
		if fe := webFail(w, r, f, err, &c.Form, "text", "images"); !fe.handled {
			again(fe.status)
		}
		return
	}
	ids := make([]uuid.UUID, 0, len(files))
	for i, fh := range files {
		img, err := p.uploadFile(r, fh)
		switch code := engine.ErrorCode(err); code {
		case "":
			ids = append(ids, img.ID)
			continue
		case engine.CodeInvalid, engine.CodeUnavailable:
			c.Form.Errors["images"] = fmt.Sprintf("Image %d (%s): %s", i+1, fh.Filename, webImageProblem(err))
			status := http.StatusUnprocessableEntity
			if code == engine.CodeUnavailable {
				status = http.StatusServiceUnavailable
			}
			again(status)
		default:
			if fe := webFail(w, r, f, err, &c.Form, "text", "images"); !fe.handled {
				again(fe.status)
			}
		}
		return
	}
	_, err = p.svc.CreatePost(ctx, PostParams{Text: c.Form.Get("text"), Images: ids, IdempotencyKey: c.Form.Get("key")})
	if errors.Is(err, ledger.ErrKeyReused) {
		// The page was sent before with other text (the back button): a
		// fresh key lets the member send this one on purpose.
		c.Form.Values["key"] = uuid.Must(uuid.NewV7()).String()
		c.Form.Error = "This form was already sent with another text. Check your post and send it again."
		again(http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		if fe := webFail(w, r, f, err, &c.Form, "text", "images"); !fe.handled {
			again(fe.status)
		}
		return
	}
	back := "/feed"
	if c.Form.Get("scope") == ScopeFollowing {
		back += "?scope=" + ScopeFollowing
	}
	webRedirect(w, r, f, withDone(back, "posted"))
}

// webParsePost parses the compose form (multipart with files, or a plain
// form without) and returns the files chosen; the empty part a browser
// sends for an input with no file chosen is not one.
func webParsePost(r *http.Request) ([]*multipart.FileHeader, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, r.ParseForm()
	}
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		return nil, err
	}
	var files []*multipart.FileHeader
	for _, fh := range r.MultipartForm.File["images"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		files = append(files, fh)
	}
	return files, nil
}

// uploadFile uploads one chosen file with the type the browser declared.
func (p *Plugin) uploadFile(r *http.Request, fh *multipart.FileHeader) (UploadedImage, error) {
	file, err := fh.Open()
	if err != nil {
		return UploadedImage{}, fmt.Errorf("open uploaded file: %w", err)
	}
	defer file.Close()
	return p.svc.UploadImage(r.Context(), file, fh.Header.Get("Content-Type"))
}

// webImageProblem is what was wrong with an image, as a sentence: the
// image store's are whole sentences, the Service's a predicate.
func webImageProblem(err error) string {
	msg := engine.ErrorMessage(err)
	if fes := engine.ErrorFields(err); len(fes) > 0 {
		msg = fes[0].Message
	}
	if r, _ := utf8.DecodeRuneInString(msg); unicode.IsLower(r) {
		msg = "it " + msg + "."
	}
	return msg
}

// webBytes says a size limit in KB or MB.
func webBytes(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", n>>10)
}
