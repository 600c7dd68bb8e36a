package social

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
)

// webPostView is a post's page: the post, a page of its comments (each with
// its first replies), and the forms the viewer may use.
type webPostView struct {
	Notice   string
	Post     webPost
	Feed     string // back to the feed
	EditURL  string // the author's edit page
	Delete   string // the author's delete form's action
	Report   *webTextFormView
	Comments []webComment
	Pager    webPager
	// CommentForm is the members' comment form; SignIn links visitors to
	// sign in instead.
	CommentForm *webTextFormView
	SignIn      string
}

// webComment is a comment or reply with what the viewer may do to it.
type webComment struct {
	ID     string
	Author webAuthor
	When   webTime
	Edited *webTime
	Text   []webSegment
	// Top marks a top-level comment: it lists its replies (the first
	// ones; More more on its own page at MoreURL) and takes new ones.
	Top     bool
	Replies []webComment
	More    int
	MoreURL string
	Reply   *webTextFormView
	// Edit and Delete are the author's; Report is everyone else's.
	Edit   *webTextFormView
	Delete string
	Report *webTextFormView
}

// webTextFormView is a form with one text area: a comment, a reply, an edit,
// a report. HTMX makes it swap itself (and add what it created) in
// place.
type webTextFormView struct {
	ID        string // of the form; its inputs' ids derive from it
	TestID    string
	Action    string
	Name      string // of the text area: text or reason
	Label     string
	Submit    string
	MaxLength int
	Form      webForm
	// ParentID is sent as parent_id (replies).
	ParentID string
	HTMX     bool
	// Open shows the form of a disclosure (<details>) opened: it came
	// back with a problem.
	Open bool
}

// webFormPageView is a page with one form about a post or a comment, shown
// read-only above it: editing a post, and any comment or report form
// that came back with a problem without htmx.
type webFormPageView struct {
	Heading string
	Post    *webPost
	Comment *webComment
	Form    webTextFormView
	Cancel  string
}

// webCommentOf makes the view of comment c for me (uuid.Nil: a visitor);
// every top-level one takes replies from members.
func (p *Plugin) webCommentOf(r *http.Request, f plugin.Frame, me uuid.UUID, c Comment, maxLen int) webComment {
	id := c.ID.String()
	v := webComment{
		ID: id, Author: webAuthorOf(r, f, c.Author), When: p.webTime(c.CreatedAt), Text: webSegments(r, f, c.Segments),
		Top: c.ParentID == nil,
	}
	if c.EditedAt != nil {
		t := p.webTime(*c.EditedAt)
		v.Edited = &t
	}
	if me != uuid.Nil && me == c.Author.ID {
		form := newWebForm()
		form.Values["text"] = c.Text
		v.Edit = &webTextFormView{ID: "edit-" + id, TestID: "comment-edit-form", Action: f.Path(r, "/comments/"+id+"/edit"),
			Name: "text", Label: "Your comment", Submit: "Save", MaxLength: maxLen, Form: form}
		v.Delete = f.Path(r, "/comments/"+id+"/delete")
	}
	if me != uuid.Nil && me != c.Author.ID {
		v.Report = p.reportForm(r, f, "/comments/"+id+"/report", "report-"+id, "comment-report-form")
	}
	if v.Top {
		for _, reply := range c.Replies {
			v.Replies = append(v.Replies, p.webCommentOf(r, f, me, reply, maxLen))
		}
		if c.ReplyCount > len(c.Replies) {
			v.More = c.ReplyCount - len(c.Replies)
			v.MoreURL = f.Path(r, "/comments/"+id)
		}
		if me != uuid.Nil {
			v.Reply = p.commentForm(r, f, c.PostID, &c.ID, maxLen)
		}
	}
	return v
}

// commentForm is the form of a new comment on post, or of a reply to
// parent.
func (p *Plugin) commentForm(r *http.Request, f plugin.Frame, post uuid.UUID, parent *uuid.UUID, maxLen int) *webTextFormView {
	v := &webTextFormView{ID: "comment-form", TestID: "comment-form", Action: f.Path(r, "/posts/"+post.String()+"/comments"),
		Name: "text", Label: "Your comment", Submit: "Comment", MaxLength: maxLen, Form: newWebForm(), HTMX: true}
	if parent != nil {
		v.ID, v.TestID, v.ParentID, v.Label, v.Submit = "reply-form-"+parent.String(), "reply-form", parent.String(), "Your reply", "Reply"
	}
	return v
}

// reportForm is the form reporting what action names.
func (p *Plugin) reportForm(r *http.Request, f plugin.Frame, action, id, testID string) *webTextFormView {
	return &webTextFormView{ID: id, TestID: testID, Action: f.Path(r, action), Name: "reason", Label: "Why should the moderators look at this?",
		Submit: "Send report", MaxLength: 500, Form: newWebForm()}
}

// commentTarget is the id of the element a new comment joins: the list
// of comments, or the replies of its parent.
func (v webTextFormView) commentTarget() string {
	if v.ParentID != "" {
		return "replies-" + v.ParentID
	}
	return "comment-list"
}

func (p *Plugin) postPage(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	ctx := r.Context()
	id, ok := webID(r)
	if !ok {
		f.Fail(w, r, ErrPostNotFound)
		return
	}
	me, signedIn := webMember(r)
	post, err := p.svc.Post(ctx, id)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	page, err := p.svc.Comments(ctx, CommentsParams{Post: id, Cursor: cursor, Limit: webPageSize})
	if engine.ErrorCode(err) == engine.CodeInvalid {
		err = engine.Errorf(engine.CodeInvalid, "This page of comments is no longer available. Start again from the first comments.")
	}
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	st, err := p.svc.Settings(ctx)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	postPath := "/posts/" + id.String()
	v := webPostView{Notice: webNotice(r), Post: p.webPostOf(r, f, me, post, webHere(r)), Feed: f.Path(r, "/feed")}
	if v.Post.Mine {
		v.EditURL = f.Path(r, postPath+"/edit")
		v.Delete = f.Path(r, postPath+"/delete")
	}
	if v.Post.CanReport {
		v.Report = p.reportForm(r, f, postPath+"/report", "report-post", "post-report-form")
	}
	for _, c := range page.Comments {
		v.Comments = append(v.Comments, p.webCommentOf(r, f, me, c, st.MaxCommentLength))
	}
	if page.Next != "" {
		v.Pager.Next = webPageLink(r, f, postPath, "cursor", page.Next)
		v.Pager.NextLabel = "Later comments"
	}
	if cursor != "" {
		v.Pager.First = f.Path(r, postPath)
	}
	if signedIn {
		v.CommentForm = p.commentForm(r, f, id, nil, st.MaxCommentLength)
	} else {
		v.SignIn = webSignInLink(r, f, postPath)
	}
	webRender(w, r, f, http.StatusOK, "Post by "+v.Post.Author.Name, webPostPage(v))
}

// webCommentPage is a comment with all its replies, paged: where "more
// replies" leads.
func (p *Plugin) commentPage(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	ctx := r.Context()
	id, ok := webID(r)
	if !ok {
		f.Fail(w, r, ErrCommentNotFound)
		return
	}
	me, _ := webMember(r)
	c, err := p.svc.Comment(ctx, id)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	if c.ParentID != nil {
		// A reply's page is its parent's.
		http.Redirect(w, r, f.Path(r, "/comments/"+c.ParentID.String()+"#comment-"+id.String()), http.StatusSeeOther)
		return
	}
	post, err := p.svc.Post(ctx, c.PostID)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	replies, err := p.svc.Replies(ctx, RepliesParams{Comment: id, Cursor: cursor, Limit: webPageSize})
	if engine.ErrorCode(err) == engine.CodeInvalid {
		err = engine.Errorf(engine.CodeInvalid, "This page of replies is no longer available. Start again from the first replies.")
	}
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	st, err := p.svc.Settings(ctx)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	c.Replies, c.ReplyCount = replies.Comments, len(replies.Comments)
	v := webCommentView{Notice: webNotice(r), Post: p.webPostOf(r, f, me, post, "/posts/"+post.ID.String()),
		Comment: p.webCommentOf(r, f, me, c, st.MaxCommentLength)}
	if replies.Next != "" {
		v.Pager.Next = webPageLink(r, f, "/comments/"+id.String(), "cursor", replies.Next)
		v.Pager.NextLabel = "Later replies"
	}
	if cursor != "" {
		v.Pager.First = f.Path(r, "/comments/"+id.String())
	}
	webRender(w, r, f, http.StatusOK, "Comment by "+v.Comment.Author.Name, webCommentPage(v))
}

// webCommentView is a comment's page: the post it is on, the comment and a
// page of its replies.
type webCommentView struct {
	Notice  string
	Post    webPost
	Comment webComment
	Pager   webPager
}

// postForAuthor loads the post of r's {id} for its author's edit and
// delete: the member must be signed in (else sign-in, back to the post).
func (p *Plugin) postForAuthor(w http.ResponseWriter, r *http.Request, f plugin.Frame) (Post, uuid.UUID, bool) {
	id, ok := webID(r)
	if !ok {
		f.Fail(w, r, ErrPostNotFound)
		return Post{}, uuid.Nil, false
	}
	me, ok := webMember(r)
	if !ok {
		webSignIn(w, r, f, "/posts/"+id.String())
		return Post{}, uuid.Nil, false
	}
	post, err := p.svc.Post(r.Context(), id)
	if err == nil && post.Author.ID != me {
		err = ErrNotAuthor
	}
	if err != nil {
		f.Fail(w, r, err)
		return Post{}, uuid.Nil, false
	}
	return post, me, true
}

// editPostForm is the author's edit form of post.
func (p *Plugin) editPostForm(r *http.Request, f plugin.Frame, post Post) (webTextFormView, error) {
	st, err := p.svc.Settings(r.Context())
	if err != nil {
		return webTextFormView{}, err
	}
	form := newWebForm()
	form.Values["text"] = post.Text
	return webTextFormView{ID: "edit-post", TestID: "edit-post-form", Action: f.Path(r, "/posts/"+post.ID.String()+"/edit"),
		Name: "text", Label: "Your post", Submit: "Save", MaxLength: st.MaxPostLength, Form: form}, nil
}

func (p *Plugin) editPostPage(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	post, me, ok := p.postForAuthor(w, r, f)
	if !ok {
		return
	}
	form, err := p.editPostForm(r, f, post)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	wp := p.webPostOf(r, f, me, post, "/posts/"+post.ID.String())
	webRender(w, r, f, http.StatusOK, "Edit your post", webFormPage(webFormPageView{Heading: "Edit your post", Post: &wp, Form: form, Cancel: wp.URL}))
}

func (p *Plugin) editPost(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	post, me, ok := p.postForAuthor(w, r, f)
	if !ok {
		return
	}
	form, err := p.editPostForm(r, f, post)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	form.Form.Values["text"] = r.PostFormValue("text")
	if _, err := p.svc.UpdatePost(r.Context(), post.ID, form.Form.Get("text")); err != nil {
		fe := webFail(w, r, f, err, &form.Form, "text")
		if !fe.handled {
			wp := p.webPostOf(r, f, me, post, "/posts/"+post.ID.String())
			webRender(w, r, f, fe.status, "Edit your post", webFormPage(webFormPageView{Heading: "Edit your post", Post: &wp, Form: form, Cancel: wp.URL}))
		}
		return
	}
	webRedirect(w, r, f, withDone("/posts/"+post.ID.String(), "post-edited"))
}

func (p *Plugin) deletePost(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	id, ok := webID(r)
	if !ok {
		f.Fail(w, r, ErrPostNotFound)
		return
	}
	if _, ok := webMember(r); !ok {
		webSignIn(w, r, f, "/posts/"+id.String())
		return
	}
	if err := p.svc.DeletePost(r.Context(), id); err != nil {
		f.Fail(w, r, err)
		return
	}
	webRedirect(w, r, f, withDone("/feed", "post-deleted"))
}

// likePost likes (like) or unlikes the post of r's {id}. htmx gets the
// like button to swap in; a plain form goes back to its return path.
func (p *Plugin) likePost(like bool) func(http.ResponseWriter, *http.Request, plugin.Frame) {
	return func(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
		ctx := r.Context()
		id, ok := webID(r)
		if !ok {
			f.Fail(w, r, ErrPostNotFound)
			return
		}
		back := webReturn(r.PostFormValue("return"), "/posts/"+id.String())
		if _, ok := webMember(r); !ok {
			webSignIn(w, r, f, back)
			return
		}
		var res LikeResult
		var err error
		if like {
			res, err = p.svc.Like(ctx, id)
		} else {
			res, err = p.svc.Unlike(ctx, id)
		}
		if !webHTMX(r) {
			if err != nil {
				f.Fail(w, r, err)
				return
			}
			webRedirect(w, r, f, back)
			return
		}
		if err == nil {
			webFragment(w, r, f, http.StatusOK, webLikeButton(webLikeOf(r, f, id, res.Liked, res.LikeCount, back)))
			return
		}
		switch engine.ErrorCode(err) {
		case engine.CodeInternal, engine.CodeUnauthenticated, engine.CodeNotFound:
			f.Fail(w, r, err)
			return
		}
		// The button as it stands, with why it did not change.
		v := webLikeOf(r, f, id, !like, 0, back)
		if post, perr := p.svc.Post(ctx, id); perr == nil {
			v = webLikeOf(r, f, id, post.Liked, post.LikeCount, back)
		}
		form := newWebForm()
		webFail(w, r, f, err, &form)
		v.Error = form.Error
		webFragment(w, r, f, http.StatusUnprocessableEntity, webLikeButton(v))
	}
}

// createComment publishes a comment or (with parent_id) a reply. htmx
// gets a fresh form plus the new comment, added to its list out of band;
// a plain form goes to the comment on the post's page.
func (p *Plugin) createComment(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	ctx := r.Context()
	id, ok := webID(r)
	if !ok {
		f.Fail(w, r, ErrPostNotFound)
		return
	}
	me, ok := webMember(r)
	if !ok {
		webSignIn(w, r, f, "/posts/"+id.String())
		return
	}
	st, err := p.svc.Settings(ctx)
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	var parent *uuid.UUID
	raw := r.PostFormValue("parent_id")
	if raw != "" {
		pid, err := uuid.Parse(raw)
		if err != nil {
			f.Fail(w, r, engine.Invalid([]engine.FieldError{{Field: "parent_id", Message: "is not a comment of this post"}}))
			return
		}
		parent = &pid
	}
	form := p.commentForm(r, f, id, parent, st.MaxCommentLength)
	form.Form.Values["text"] = r.PostFormValue("text")
	c, err := p.svc.CreateComment(ctx, CommentParams{Post: id, Parent: parent, Text: form.Form.Get("text")})
	if err != nil {
		fe := webFail(w, r, f, err, &form.Form, "text")
		if fe.handled {
			return
		}
		form.Open = true
		if webHTMX(r) {
			webFragment(w, r, f, http.StatusUnprocessableEntity, webCommentFragment(*form, nil))
			return
		}
		p.renderFormPage(w, r, f, fe.status, id, parent, *form)
		return
	}
	if webHTMX(r) {
		item := p.webCommentOf(r, f, me, c, st.MaxCommentLength)
		fresh := p.commentForm(r, f, id, parent, st.MaxCommentLength)
		webFragment(w, r, f, http.StatusOK, webCommentFragment(*fresh, &item))
		return
	}
	webRedirect(w, r, f, withDone("/posts/"+id.String(), "commented")+"#comment-"+c.ID.String())
}

// renderFormPage shows a comment form that came back with a problem on a
// page of its own, under the post or the comment it answers.
func (p *Plugin) renderFormPage(w http.ResponseWriter, r *http.Request, f plugin.Frame, status int, postID uuid.UUID, about *uuid.UUID, form webTextFormView) {
	ctx := r.Context()
	me, _ := webMember(r)
	v := webFormPageView{Form: form, Cancel: f.Path(r, "/posts/"+postID.String())}
	form.HTMX = false
	v.Form = form
	if about != nil {
		c, err := p.svc.Comment(ctx, *about)
		if err != nil {
			f.Fail(w, r, err)
			return
		}
		wc := p.webCommentOf(r, f, uuid.Nil, c, 0)
		v.Comment = &wc
		v.Cancel += "#comment-" + c.ID.String()
	} else {
		post, err := p.svc.Post(ctx, postID)
		if err != nil {
			f.Fail(w, r, err)
			return
		}
		wp := p.webPostOf(r, f, me, post, "/posts/"+postID.String())
		v.Post = &wp
	}
	switch {
	case form.Name == "reason":
		v.Heading = "Report this"
	case form.ParentID != "":
		v.Heading = "Reply to a comment"
	case form.TestID == "comment-edit-form":
		v.Heading = "Edit your comment"
	default:
		v.Heading = "Comment on this post"
	}
	webRender(w, r, f, status, v.Heading, webFormPage(v))
}

// commentForAction loads the comment of r's {id} for a member's action on
// it (signing a visitor in, back to the comment's post).
func (p *Plugin) commentForAction(w http.ResponseWriter, r *http.Request, f plugin.Frame) (Comment, bool) {
	id, ok := webID(r)
	if !ok {
		f.Fail(w, r, ErrCommentNotFound)
		return Comment{}, false
	}
	c, err := p.svc.Comment(r.Context(), id)
	if err != nil {
		f.Fail(w, r, err)
		return Comment{}, false
	}
	if _, ok := webMember(r); !ok {
		webSignIn(w, r, f, "/posts/"+c.PostID.String())
		return Comment{}, false
	}
	return c, true
}

func (p *Plugin) editComment(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	c, ok := p.commentForAction(w, r, f)
	if !ok {
		return
	}
	st, err := p.svc.Settings(r.Context())
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	form := webTextFormView{ID: "edit-" + c.ID.String(), TestID: "comment-edit-form", Action: f.Path(r, "/comments/"+c.ID.String()+"/edit"),
		Name: "text", Label: "Your comment", Submit: "Save", MaxLength: st.MaxCommentLength, Form: newWebForm(), Open: true}
	form.Form.Values["text"] = r.PostFormValue("text")
	if _, err := p.svc.UpdateComment(r.Context(), c.ID, form.Form.Get("text")); err != nil {
		if fe := webFail(w, r, f, err, &form.Form, "text"); !fe.handled {
			p.renderFormPage(w, r, f, fe.status, c.PostID, &c.ID, form)
		}
		return
	}
	webRedirect(w, r, f, withDone("/posts/"+c.PostID.String(), "comment-edited")+"#comment-"+c.ID.String())
}

func (p *Plugin) deleteComment(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	c, ok := p.commentForAction(w, r, f)
	if !ok {
		return
	}
	if err := p.svc.DeleteComment(r.Context(), c.ID); err != nil {
		f.Fail(w, r, err)
		return
	}
	webRedirect(w, r, f, withDone("/posts/"+c.PostID.String(), "comment-deleted")+"#comments")
}

func (p *Plugin) reportPost(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	id, ok := webID(r)
	if !ok {
		f.Fail(w, r, ErrPostNotFound)
		return
	}
	if _, ok := webMember(r); !ok {
		webSignIn(w, r, f, "/posts/"+id.String())
		return
	}
	form := p.reportForm(r, f, "/posts/"+id.String()+"/report", "report-post", "post-report-form")
	p.report(w, r, f, TargetPost, id, id, nil, *form)
}

func (p *Plugin) reportComment(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	c, ok := p.commentForAction(w, r, f)
	if !ok {
		return
	}
	form := p.reportForm(r, f, "/comments/"+c.ID.String()+"/report", "report-"+c.ID.String(), "comment-report-form")
	p.report(w, r, f, TargetComment, c.ID, c.PostID, &c.ID, *form)
}

// report files the member's report of target (kind) and goes back to the
// post; a second report of the same target is a notice, not a problem.
func (p *Plugin) report(w http.ResponseWriter, r *http.Request, f plugin.Frame, kind string, target, post uuid.UUID, comment *uuid.UUID, form webTextFormView) {
	form.Form.Values["reason"] = r.PostFormValue("reason")
	form.Open = true
	back := "/posts/" + post.String()
	_, err := p.svc.Report(r.Context(), ReportParams{Kind: kind, Target: target, Reason: form.Form.Get("reason")})
	switch {
	case err == nil:
		webRedirect(w, r, f, withDone(back, "reported"))
	case errors.Is(err, ErrAlreadyReported):
		webRedirect(w, r, f, withDone(back, "already-reported"))
	default:
		if fe := webFail(w, r, f, err, &form.Form, "reason"); !fe.handled {
			p.renderFormPage(w, r, f, fe.status, post, comment, form)
		}
	}
}
