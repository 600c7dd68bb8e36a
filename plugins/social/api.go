package social

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/ratelimit"
)

// RegisterAPI implements plugin.APIProvider: every social operation, on
// the plugin's group (404 for a tenant without the plugin).
func (p *Plugin) RegisterAPI(a huma.API) { RegisterAPI(a, p.svc) }

// RegisterAPI registers the social operations of s on a.
func RegisterAPI(a huma.API, s *Service) {
	registerPostsAPI(a, s)
	registerCommentsAPI(a, s)
	registerMembersAPI(a, s)
	registerModerationAPI(a, s)
}

// apiErr adds Retry-After and RateLimit headers to a rate-limited refusal.
func apiErr(err error) error {
	if rl, ok := errors.AsType[*RateLimitError](err); ok {
		h := http.Header{}
		ratelimit.SetHeaders(h, rl.Decision)
		return huma.ErrorWithHeaders(err, h)
	}
	return err
}

func op(id, method, path, summary, desc string, tags ...string) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: api.Prefix + path, Summary: summary, Description: desc, Tags: tags}
}

func created(o huma.Operation) huma.Operation { o.DefaultStatus = http.StatusCreated; return o }

func noContent(o huma.Operation) huma.Operation { o.DefaultStatus = http.StatusNoContent; return o }

type idPath struct {
	ID uuid.UUID `path:"id" format:"uuid"`
}

// MemberPath names a member by ID or handle.
type MemberPath struct {
	ID string `path:"id" minLength:"1" maxLength:"40" doc:"A member's ID, or their handle."`
}

// PageQuery selects a page.
type PageQuery struct {
	Cursor string `query:"cursor" maxLength:"200" doc:"The next cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"50" default:"20"`
}

type postOutput struct{ Body Post }

type commentOutput struct{ Body Comment }

type profileOutput struct{ Body Profile }

type reportOutput struct{ Body Report }

// PostsPage is a page of posts.
type PostsPage struct {
	Posts []Post `json:"posts"`
	Next  string `json:"next,omitempty" doc:"The cursor of the next page; absent on the last."`
}

type postsOutput struct{ Body PostsPage }

func postsPage(p FeedPage) *postsOutput {
	if p.Posts == nil {
		p.Posts = []Post{}
	}
	return &postsOutput{Body: PostsPage{Posts: p.Posts, Next: p.Next}}
}

// CommentsPage is a page of comments.
type CommentsPage struct {
	Comments []Comment `json:"comments"`
	Next     string    `json:"next,omitempty" doc:"The cursor of the next page; absent on the last."`
}

type commentsOutput struct{ Body CommentsPage }

func commentsPage(p CommentPage) *commentsOutput {
	if p.Comments == nil {
		p.Comments = []Comment{}
	}
	return &commentsOutput{Body: CommentsPage{Comments: p.Comments, Next: p.Next}}
}

// MembersPage is a page of followers or followees.
type MembersPage struct {
	Members []FollowEntry `json:"members"`
	Next    string        `json:"next,omitempty" doc:"The cursor of the next page; absent on the last."`
}

// CreatePostBody is a new post.
type CreatePostBody struct {
	Text   string      `json:"text" maxLength:"20000" doc:"Plain text (never HTML), at most the community's max_post_length characters; @handles mention members, http(s) URLs become links."`
	Images []uuid.UUID `json:"images,omitempty" maxItems:"10" doc:"IDs from upload-image, in display order."`
}

// TextBody replaces a text.
type TextBody struct {
	Text string `json:"text" maxLength:"20000"`
}

// UploadImageInput is an image upload: the raw bytes of the file.
type UploadImageInput struct {
	ContentType string `header:"Content-Type" doc:"image/png, image/jpeg, image/gif or image/webp."`
	RawBody     []byte `contentType:"image/png"`
}

func registerPostsAPI(a huma.API, s *Service) {
	tags := []string{"Posts"}
	huma.Register(a, api.Declare(created(op("create-post", http.MethodPost, "/posts", "Publish a post",
		"Publishes a post by the signed-in member. It earns coins (post.created) through the community's rules, except in the "+
			"new-account period. Mentioned members are notified. 403 while suspended, 429 past the posting rate.", tags...)), api.Self),
		func(ctx context.Context, in *struct{ Body CreatePostBody }) (*postOutput, error) {
			p, err := s.CreatePost(ctx, PostParams{Text: in.Body.Text, Images: in.Body.Images})
			if err != nil {
				return nil, apiErr(err)
			}
			return &postOutput{Body: p}, nil
		})
	upload := created(op("upload-image", http.MethodPost, "/images", "Upload an image for a post",
		"Send the image file as the request body with its Content-Type (image/png, image/jpeg, image/gif or image/webp; never SVG). "+
			"The content must match the type, fit the community's max_image_bytes and decode; metadata is stripped. Attach the returned "+
			"ID to a post (create-post images) within a day, after which an unattached upload is deleted.", tags...))
	upload.MaxBodyBytes = 21 << 20
	upload.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{}}
	for _, ct := range []string{"image/jpeg", "image/gif", "image/webp"} {
		upload.RequestBody.Content[ct] = &huma.MediaType{Schema: &huma.Schema{Type: "string", Format: "binary"}}
	}
	huma.Register(a, api.Declare(upload, api.Self), func(ctx context.Context, in *UploadImageInput) (*struct{ Body UploadedImage }, error) {
		im, err := s.UploadImage(ctx, bytes.NewReader(in.RawBody), in.ContentType)
		if err != nil {
			return nil, apiErr(err)
		}
		return &struct{ Body UploadedImage }{Body: im}, nil
	})
	huma.Register(a, api.Declare(op("get-feed", http.MethodGet, "/feed", "Get a feed",
		"The community feed (every visible post) or the following feed (posts of the members I follow, and mine), newest first, "+
			"20 a page by default, each post with its author, counts and whether I like it.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			Scope string `query:"scope" enum:"community,following" default:"community"`
			PageQuery
		}) (*postsOutput, error) {
			page, err := s.Feed(ctx, FeedParams{Scope: in.Scope, Cursor: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			return postsPage(page), nil
		})
	huma.Register(a, api.Declare(op("get-post", http.MethodGet, "/posts/{id}", "Get a post", "", tags...), api.Self),
		func(ctx context.Context, in *idPath) (*postOutput, error) {
			p, err := s.Post(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &postOutput{Body: p}, nil
		})
	huma.Register(a, api.Declare(op("update-post", http.MethodPut, "/posts/{id}", "Edit my post",
		"Replaces the text of my post and marks it edited. Newly mentioned members are notified.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body TextBody
		}) (*postOutput, error) {
			p, err := s.UpdatePost(ctx, in.ID, in.Body.Text)
			if err != nil {
				return nil, apiErr(err)
			}
			return &postOutput{Body: p}, nil
		})
	huma.Register(a, api.Declare(noContent(op("delete-post", http.MethodDelete, "/posts/{id}", "Delete my post",
		"Deletes my post; what it earned (its coins, the likes' coins, the comments' coins) is taken back.", tags...)), api.Self),
		func(ctx context.Context, in *idPath) (*struct{}, error) {
			return nil, s.DeletePost(ctx, in.ID)
		})
	huma.Register(a, api.Declare(op("like-post", http.MethodPut, "/posts/{id}/like", "Like a post",
		"Idempotent. The first like of a post earns its author coins (like.received; never for my own post); unliking takes them "+
			"back, and liking again earns nothing. 429 past the liking rate.", tags...), api.Self),
		func(ctx context.Context, in *idPath) (*struct{ Body LikeResult }, error) {
			r, err := s.Like(ctx, in.ID)
			if err != nil {
				return nil, apiErr(err)
			}
			return &struct{ Body LikeResult }{Body: r}, nil
		})
	huma.Register(a, api.Declare(op("unlike-post", http.MethodDelete, "/posts/{id}/like", "Withdraw my like", "Idempotent.", tags...), api.Self),
		func(ctx context.Context, in *idPath) (*struct{ Body LikeResult }, error) {
			r, err := s.Unlike(ctx, in.ID)
			if err != nil {
				return nil, apiErr(err)
			}
			return &struct{ Body LikeResult }{Body: r}, nil
		})
}

// CreateCommentBody is a new comment or reply.
type CreateCommentBody struct {
	Text     string     `json:"text" maxLength:"20000" doc:"Plain text, at most the community's max_comment_length characters."`
	ParentID *uuid.UUID `json:"parent_id,omitempty" doc:"Reply to this top-level comment of the post."`
}

func registerCommentsAPI(a huma.API, s *Service) {
	tags := []string{"Comments"}
	huma.Register(a, api.Declare(op("list-comments", http.MethodGet, "/posts/{id}/comments", "List a post's comments",
		"Top-level comments oldest first, each with its first 20 replies and its reply count.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			ID uuid.UUID `path:"id" format:"uuid"`
			PageQuery
		}) (*commentsOutput, error) {
			page, err := s.Comments(ctx, CommentsParams{Post: in.ID, Cursor: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			return commentsPage(page), nil
		})
	huma.Register(a, api.Declare(created(op("create-comment", http.MethodPost, "/posts/{id}/comments", "Comment on a post",
		"Comments on a post, or replies (parent_id) to one of its top-level comments. It earns coins (comment.created) through the "+
			"community's rules — not on my own post unless the community says so. 429 past the commenting rate.", tags...)), api.Self),
		func(ctx context.Context, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body CreateCommentBody
		}) (*commentOutput, error) {
			c, err := s.CreateComment(ctx, CommentParams{Post: in.ID, Parent: in.Body.ParentID, Text: in.Body.Text})
			if err != nil {
				return nil, apiErr(err)
			}
			return &commentOutput{Body: c}, nil
		})
	huma.Register(a, api.Declare(op("list-replies", http.MethodGet, "/comments/{id}/replies", "List a comment's replies",
		"Oldest first.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			ID uuid.UUID `path:"id" format:"uuid"`
			PageQuery
		}) (*commentsOutput, error) {
			page, err := s.Replies(ctx, RepliesParams{Comment: in.ID, Cursor: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			return commentsPage(page), nil
		})
	huma.Register(a, api.Declare(op("update-comment", http.MethodPut, "/comments/{id}", "Edit my comment", "", tags...), api.Self),
		func(ctx context.Context, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body TextBody
		}) (*commentOutput, error) {
			c, err := s.UpdateComment(ctx, in.ID, in.Body.Text)
			if err != nil {
				return nil, apiErr(err)
			}
			return &commentOutput{Body: c}, nil
		})
	huma.Register(a, api.Declare(noContent(op("delete-comment", http.MethodDelete, "/comments/{id}", "Delete my comment",
		"What it earned is taken back; its replies are no longer shown.", tags...)), api.Self),
		func(ctx context.Context, in *idPath) (*struct{}, error) {
			return nil, s.DeleteComment(ctx, in.ID)
		})
}

// ProfileBody changes my social profile; absent fields stay.
type ProfileBody struct {
	Handle *string `json:"handle,omitempty" maxLength:"31" doc:"3 to 30 letters a-z, digits or _ (any case; stored lower-case). Unique."`
	Bio    *string `json:"bio,omitempty" maxLength:"2000" doc:"At most 300 characters."`
}

// ReportBody reports a post or comment.
type ReportBody struct {
	Kind     string    `json:"kind" enum:"post,comment"`
	TargetID uuid.UUID `json:"target_id"`
	Reason   string    `json:"reason" minLength:"1" maxLength:"2000" doc:"At most 500 characters."`
}

func registerMembersAPI(a huma.API, s *Service) {
	tags := []string{"Members"}
	huma.Register(a, api.Declare(op("get-social-profile", http.MethodGet, "/members/{id}/profile", "Get a member's profile",
		"By ID or handle: counts, badges, coins earned (when the community shows them) and whether I follow them.", tags...), api.Self),
		func(ctx context.Context, in *MemberPath) (*profileOutput, error) {
			p, err := s.Profile(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &profileOutput{Body: p}, nil
		})
	huma.Register(a, api.Declare(op("update-social-profile", http.MethodPatch, "/me/social-profile", "Change my handle or bio", "", tags...),
		api.Self), func(ctx context.Context, in *struct{ Body ProfileBody }) (*profileOutput, error) {
		p, err := s.UpdateProfile(ctx, ProfileParams{Handle: in.Body.Handle, Bio: in.Body.Bio})
		if err != nil {
			return nil, err
		}
		return &profileOutput{Body: p}, nil
	})
	huma.Register(a, api.Declare(op("list-member-posts", http.MethodGet, "/members/{id}/posts", "List a member's posts",
		"Newest first.", tags...), api.Self),
		func(ctx context.Context, in *struct {
			MemberPath
			PageQuery
		}) (*postsOutput, error) {
			page, err := s.MemberPosts(ctx, MemberPostsParams{Member: in.ID, Cursor: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			return postsPage(page), nil
		})
	huma.Register(a, api.Declare(noContent(op("follow-member", http.MethodPut, "/members/{id}/follow", "Follow a member",
		"Idempotent; they are notified once.", tags...)), api.Self),
		func(ctx context.Context, in *idPath) (*struct{}, error) {
			return nil, s.Follow(ctx, in.ID)
		})
	huma.Register(a, api.Declare(noContent(op("unfollow-member", http.MethodDelete, "/members/{id}/follow", "Unfollow a member",
		"Idempotent.", tags...)), api.Self),
		func(ctx context.Context, in *idPath) (*struct{}, error) {
			return nil, s.Unfollow(ctx, in.ID)
		})
	for _, followers := range []bool{true, false} {
		id, path, summary := "list-following", "/members/{id}/following", "List whom a member follows"
		if followers {
			id, path, summary = "list-followers", "/members/{id}/followers", "List a member's followers"
		}
		huma.Register(a, api.Declare(op(id, http.MethodGet, path, summary, "Newest first.", tags...), api.Self),
			func(ctx context.Context, in *struct {
				MemberPath
				Cursor string `query:"cursor" maxLength:"200"`
				Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
			}) (*struct{ Body MembersPage }, error) {
				p := FollowParams{Member: in.ID, Cursor: in.Cursor, Limit: in.Limit}
				page, err := s.Following(ctx, p)
				if followers {
					page, err = s.Followers(ctx, p)
				}
				if err != nil {
					return nil, err
				}
				if page.Members == nil {
					page.Members = []FollowEntry{}
				}
				return &struct{ Body MembersPage }{Body: MembersPage{Members: page.Members, Next: page.Next}}, nil
			})
	}
	huma.Register(a, api.Declare(created(op("create-report", http.MethodPost, "/reports", "Report a post or comment",
		"For the moderators. One open report per member and target (409 for a second).", "Moderation")), api.Self),
		func(ctx context.Context, in *struct{ Body ReportBody }) (*reportOutput, error) {
			r, err := s.Report(ctx, ReportParams{Kind: in.Body.Kind, Target: in.Body.TargetID, Reason: in.Body.Reason})
			if err != nil {
				return nil, err
			}
			return &reportOutput{Body: r}, nil
		})
}

// ReasonBody gives a moderator's reason.
type ReasonBody struct {
	Reason string `json:"reason,omitempty" maxLength:"2000" doc:"At most 500 characters; required to hide and delete."`
}

// SuspendBody suspends a member.
type SuspendBody struct {
	Until  time.Time `json:"until" doc:"In the future, at most a year away."`
	Reason string    `json:"reason" minLength:"1" maxLength:"2000"`
}

// ResolveBody closes a report.
type ResolveBody struct {
	Status string `json:"status" enum:"resolved,dismissed"`
	Note   string `json:"note,omitempty" maxLength:"1000"`
}

func registerModerationAPI(a huma.API, s *Service) {
	tags := []string{"Moderation"}
	mod := api.Permission(PermissionModerate)
	huma.Register(a, api.Declare(op("list-reports", http.MethodGet, "/moderation/reports", "List reports",
		"The moderation queue, newest first: each report with a preview of its target and the target's open report count.", tags...), mod),
		func(ctx context.Context, in *struct {
			Status string `query:"status" enum:"open,resolved,dismissed" default:"open"`
			Cursor string `query:"cursor" maxLength:"200"`
			Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
		}) (*struct {
			Body struct {
				Reports []Report `json:"reports"`
				Next    string   `json:"next,omitempty"`
			}
		}, error) {
			page, err := s.Reports(ctx, ReportsParams{Status: in.Status, Cursor: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Reports []Report `json:"reports"`
					Next    string   `json:"next,omitempty"`
				}
			}{}
			out.Body.Reports, out.Body.Next = page.Reports, page.Next
			if out.Body.Reports == nil {
				out.Body.Reports = []Report{}
			}
			return out, nil
		})
	huma.Register(a, api.Declare(op("resolve-report", http.MethodPost, "/moderation/reports/{id}/resolve", "Resolve or dismiss a report",
		"Audited. A closed report is a 409.", tags...), mod),
		func(ctx context.Context, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body ResolveBody
		}) (*reportOutput, error) {
			r, err := s.ResolveReport(ctx, ResolveParams{Report: in.ID, Status: in.Body.Status, Note: in.Body.Note})
			if err != nil {
				return nil, err
			}
			return &reportOutput{Body: r}, nil
		})
	for _, kind := range []string{TargetPost, TargetComment} {
		for _, action := range []string{"hide", "restore", "delete"} {
			desc := map[string]string{
				"hide":    "Hides it from members and takes back what it earned; resolves its open reports. Audited.",
				"restore": "Shows hidden content again; what it earned stays taken back. Audited.",
				"delete":  "Deletes it (hidden or not), takes back what it earned and resolves its open reports. Audited.",
			}[action]
			verb := map[string]string{"hide": "hide", "restore": "restore", "delete": "remove"}[action]
			summary := map[string]string{"hide": "Hide a ", "restore": "Restore a hidden ", "delete": "Remove a "}[action] + kind
			huma.Register(a, api.Declare(op(verb+"-"+kind, http.MethodPost, "/moderation/"+kind+"s/{id}/"+verb, summary, desc, tags...), mod),
				func(ctx context.Context, in *struct {
					ID   uuid.UUID `path:"id" format:"uuid"`
					Body ReasonBody
				}) (*struct{}, error) {
					p := ModerateParams{Kind: kind, Target: in.ID, Reason: in.Body.Reason}
					var err error
					switch action {
					case "hide":
						err = s.Hide(ctx, p)
					case "restore":
						err = s.Restore(ctx, p)
					default:
						err = s.DeleteAsModerator(ctx, p)
					}
					return nil, err
				})
		}
	}
	huma.Register(a, api.Declare(noContent(op("warn-member", http.MethodPost, "/moderation/members/{id}/warn", "Warn a member",
		"They get a warning notification with the reason. Recorded and audited.", tags...)), mod),
		func(ctx context.Context, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body struct {
				Reason string `json:"reason" minLength:"1" maxLength:"2000"`
			}
		}) (*struct{}, error) {
			return nil, s.Warn(ctx, WarnParams{Member: in.ID, Reason: in.Body.Reason})
		})
	huma.Register(a, api.Declare(noContent(op("suspend-member", http.MethodPost, "/moderation/members/{id}/suspend", "Suspend a member",
		"Until then they can read but not post, comment, like, follow or report. To ban, use ban-member.", tags...)), mod),
		func(ctx context.Context, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body SuspendBody
		}) (*struct{}, error) {
			return nil, s.Suspend(ctx, SuspendParams{Member: in.ID, Until: in.Body.Until, Reason: in.Body.Reason})
		})
	huma.Register(a, api.Declare(noContent(op("unsuspend-member", http.MethodDelete, "/moderation/members/{id}/suspension",
		"Lift a member's suspension", "", tags...)), mod),
		func(ctx context.Context, in *idPath) (*struct{}, error) {
			return nil, s.Unsuspend(ctx, in.ID)
		})
	huma.Register(a, api.Declare(op("get-moderation-summary", http.MethodGet, "/moderation/members/{id}", "Get a member's standing",
		"Ban and suspension, warnings, hidden content, open reports and the latest moderation actions.", tags...), mod),
		func(ctx context.Context, in *idPath) (*struct{ Body ModerationSummary }, error) {
			m, err := s.ModerationSummary(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ModerationSummary }{Body: m}, nil
		})
	huma.Register(a, api.Declare(op("search-posts", http.MethodGet, "/moderation/posts", "Search posts",
		"Posts whose text contains q (any case), newest first, hidden ones included.", tags...), mod),
		func(ctx context.Context, in *struct {
			Q string `query:"q" minLength:"2" maxLength:"100"`
			PageQuery
		}) (*postsOutput, error) {
			page, err := s.Search(ctx, SearchParams{Query: in.Q, Cursor: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			return postsPage(page), nil
		})
	// SettingsBody: rules.Settings already names a schema "Settings".
	type SettingsBody Settings
	settingsTags := []string{"Settings"}
	huma.Register(a, api.Declare(op("get-social-settings", http.MethodGet, "/social/settings", "Get the social settings", "", settingsTags...),
		api.Permission(PermissionManage)), func(ctx context.Context, _ *struct{}) (*struct{ Body SettingsBody }, error) {
		st, err := s.Settings(ctx)
		if err != nil {
			return nil, err
		}
		return &struct{ Body SettingsBody }{Body: SettingsBody(st)}, nil
	})
	huma.Register(a, api.Declare(op("update-social-settings", http.MethodPut, "/social/settings", "Replace the social settings",
		"Limits, anti-abuse, coins and retention. Audited. Other servers apply them within 30 seconds.", settingsTags...),
		api.Permission(PermissionManage)), func(ctx context.Context, in *struct{ Body SettingsBody }) (*struct{ Body SettingsBody }, error) {
		st, err := s.UpdateSettings(ctx, Settings(in.Body))
		if err != nil {
			return nil, err
		}
		return &struct{ Body SettingsBody }{Body: SettingsBody(st)}, nil
	})
}
