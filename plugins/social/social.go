package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/blob"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rules"
)

// Name is the plugin's name and the tenant kind it provides.
const Name = "social"

// Coin event types the plugin emits (see Manifest).
const (
	EventPostCreated    = "post.created"
	EventLikeReceived   = "like.received"
	EventCommentCreated = "comment.created"
)

// Notifier stores notifications in the caller's transaction: engine/inbox's
// (*inbox.Service).AddTx. Added is false when DedupeKey was seen before.
type Notifier interface {
	AddTx(ctx context.Context, tx pgx.Tx, p inbox.AddParams) (n inbox.Notification, added bool, err error)
}

// NotificationPurger deletes the tenant's notifications created before a
// time (engine/inbox's retention), for the cleanup job. Optional.
type NotificationPurger interface {
	DeleteOlder(ctx context.Context, before time.Time) (int64, error)
}

// Deps are what the plugin needs. DB and Rules are required; a nil
// Notifier stores no notifications, a nil Blobs refuses image uploads (and
// serves posts without image URLs), a nil Limiter gets a private one, a nil
// Authz the embedded policy.
type Deps struct {
	DB       *db.DB
	Rules    *rules.Service
	Notifier Notifier
	Purger   NotificationPurger
	Blobs    blob.Store
	Limiter  *ratelimit.Limiter
	Authz    *authz.Authorizer
	Log      *slog.Logger
	Now      func() time.Time
	// ImageURLTTL is how long the signed image URLs of a page work;
	// default an hour.
	ImageURLTTL time.Duration
}

// Plugin is the social plugin: the plugin contract (manifest, REST
// operations, jobs) around its Service.
type Plugin struct {
	svc *Service
}

// New returns the social plugin. Deps may be empty when only the manifest
// is needed (CLI commands that list plugins); then the service must not be
// used.
func New(d Deps) *Plugin {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Limiter == nil {
		d.Limiter = ratelimit.New(d.Now)
	}
	if d.Authz == nil {
		az, err := authz.New()
		if err != nil {
			panic(fmt.Sprintf("social: embedded authz policy: %v", err))
		}
		d.Authz = az
	}
	if d.ImageURLTTL <= 0 {
		d.ImageURLTTL = time.Hour
	}
	return &Plugin{svc: &Service{d: d, settings: map[uuid.UUID]cachedSettings{}}}
}

// Service returns the plugin's service, for the web app and the console.
func (p *Plugin) Service() *Service { return p.svc }

// Manifest implements plugin.Plugin.
func (*Plugin) Manifest() plugin.Manifest {
	return plugin.Manifest{
		Name:        Name,
		Title:       "Social",
		Description: "A reward social network: members post, like and comment, and earn coins for it.",
		Kind:        true,
		Welcome:     "Share what you're up to, cheer each other on, and earn coins for taking part.",
		EventTypes: []plugin.EventType{
			{Type: EventPostCreated, Description: "Publishing a post", DefaultCoins: 10},
			{Type: EventLikeReceived, Description: "Receiving a like on your post", DefaultCoins: 2},
			{Type: EventCommentCreated, Description: "Commenting on a post", DefaultCoins: 5},
		},
		Features: []plugin.Feature{
			{Key: "social.post_boost", Name: "Post boosts", Description: "Pin your post to the top of the community feed for a day."},
		},
	}
}

// Jobs implements plugin.JobProvider: the daily cleanup.
func (p *Plugin) Jobs() []plugin.Job {
	return []plugin.Job{{Kind: "social.cleanup", Hour: 3, Minute: 30, Run: p.svc.Cleanup}}
}

// Service is the social network of the tenant in ctx. Methods act as the
// principal in ctx: members for themselves, staff by their permissions.
type Service struct {
	d Deps

	mu       sync.RWMutex
	settings map[uuid.UUID]cachedSettings
}

// Kinds of text segment.
const (
	SegmentText    = "text"
	SegmentMention = "mention"
	SegmentLink    = "link"
)

// Segment is a piece of a post's or comment's text, for renderers that
// must escape everything: plain text, a mention of a member (Href is their
// profile page) or a link (Href is an http or https URL, nothing else).
type Segment struct {
	Kind     string     `json:"kind" enum:"text,mention,link"`
	Text     string     `json:"text"`
	Href     string     `json:"href,omitempty" doc:"mention: the member's page in the web app; link: an http(s) URL."`
	MemberID *uuid.UUID `json:"member_id,omitempty"`
}

// Author is a member as shown next to what they wrote.
type Author struct {
	ID          uuid.UUID `json:"id"`
	Handle      string    `json:"handle"`
	DisplayName string    `json:"display_name"`
	AvatarURL   string    `json:"avatar_url,omitempty"`
}

// Image is an image of a post, served through a signed URL that works for
// a limited time (fetch the post again for a fresh one).
type Image struct {
	ID          uuid.UUID `json:"id"`
	URL         string    `json:"url,omitempty"`
	ContentType string    `json:"content_type"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
}

// Post is a post as the viewer sees it.
type Post struct {
	ID           uuid.UUID  `json:"id"`
	Author       Author     `json:"author"`
	Text         string     `json:"text" doc:"As written: plain text, never HTML. Escape it (or render segments) when showing it."`
	Segments     []Segment  `json:"segments"`
	Images       []Image    `json:"images"`
	LikeCount    int        `json:"like_count"`
	CommentCount int        `json:"comment_count"`
	Liked        bool       `json:"liked" doc:"Whether the viewer likes it."`
	CreatedAt    time.Time  `json:"created_at"`
	EditedAt     *time.Time `json:"edited_at,omitempty"`
	// Moderation state: only moderators ever see hidden or deleted posts.
	HiddenAt   *time.Time `json:"hidden_at,omitempty"`
	HideReason string     `json:"hide_reason,omitempty"`
	DeletedAt  *time.Time `json:"deleted_at,omitempty"`
}

// Comment is a comment or a reply as the viewer sees it.
type Comment struct {
	ID         uuid.UUID  `json:"id"`
	PostID     uuid.UUID  `json:"post_id"`
	ParentID   *uuid.UUID `json:"parent_id,omitempty" doc:"Replies: the comment replied to."`
	Author     Author     `json:"author"`
	Text       string     `json:"text" doc:"Plain text, never HTML."`
	Segments   []Segment  `json:"segments"`
	CreatedAt  time.Time  `json:"created_at"`
	EditedAt   *time.Time `json:"edited_at,omitempty"`
	Replies    []Comment  `json:"replies,omitempty" doc:"Top-level comments: the first replies, oldest first."`
	ReplyCount int        `json:"reply_count,omitempty"`
	HiddenAt   *time.Time `json:"hidden_at,omitempty"`
	HideReason string     `json:"hide_reason,omitempty"`
}

// Badge is a milestone a member reached.
type Badge struct {
	Key       string    `json:"key"`
	Title     string    `json:"title"`
	AwardedAt time.Time `json:"awarded_at"`
}

// Profile is a member's social profile.
type Profile struct {
	Member         Author     `json:"member"`
	Bio            string     `json:"bio"`
	PostCount      int        `json:"post_count"`
	FollowerCount  int        `json:"follower_count"`
	FollowingCount int        `json:"following_count"`
	LikesReceived  int64      `json:"likes_received"`
	Coins          *int64     `json:"coins_earned,omitempty" doc:"Coins earned by social activity (not reversed), when the community shows them."`
	Badges         []Badge    `json:"badges"`
	Following      bool       `json:"following" doc:"Whether the viewer follows them."`
	SuspendedUntil *time.Time `json:"suspended_until,omitempty" doc:"Shown to the member and to moderators only."`
	JoinedAt       time.Time  `json:"joined_at"`
}

// FollowEntry is a member in a follower or following list.
type FollowEntry struct {
	Member Author    `json:"member"`
	Since  time.Time `json:"since"`
}

// Report statuses.
const (
	ReportOpen      = "open"
	ReportResolved  = "resolved"
	ReportDismissed = "dismissed"
)

// Kinds of moderation target.
const (
	TargetPost    = "post"
	TargetComment = "comment"
)

// TargetPreview is what a report is about, for the moderation queue.
type TargetPreview struct {
	Kind      string     `json:"kind" enum:"post,comment"`
	ID        uuid.UUID  `json:"id"`
	PostID    uuid.UUID  `json:"post_id"`
	Author    *Author    `json:"author,omitempty" doc:"Absent when the content was purged."`
	Excerpt   string     `json:"excerpt" doc:"The first 280 characters, plain text."`
	HiddenAt  *time.Time `json:"hidden_at,omitempty"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	Purged    bool       `json:"purged,omitempty"`
}

// Report is a member's report of a post or comment.
type Report struct {
	ID            uuid.UUID     `json:"id"`
	Target        TargetPreview `json:"target"`
	ReporterID    uuid.UUID     `json:"reporter_id"`
	Reason        string        `json:"reason"`
	Status        string        `json:"status" enum:"open,resolved,dismissed"`
	TargetReports int           `json:"target_open_reports" doc:"Open reports of the same target."`
	ResolvedBy    string        `json:"resolved_by,omitempty"`
	ResolvedAt    *time.Time    `json:"resolved_at,omitempty"`
	Note          string        `json:"note,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
}

// ModerationAction is one thing a moderator did.
type ModerationAction struct {
	ID         uuid.UUID  `json:"id"`
	Actor      string     `json:"actor"`
	Action     string     `json:"action" enum:"warn,suspend,unsuspend,hide,restore,delete"`
	TargetKind string     `json:"target_kind" enum:"post,comment,member"`
	TargetID   uuid.UUID  `json:"target_id"`
	Reason     string     `json:"reason,omitempty"`
	Until      *time.Time `json:"until,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// ModerationSummary is a member's standing, for moderators.
type ModerationSummary struct {
	Member         Author             `json:"member"`
	Banned         bool               `json:"banned"`
	SuspendedUntil *time.Time         `json:"suspended_until,omitempty"`
	Warnings       int                `json:"warnings"`
	Suspensions    int                `json:"suspensions"`
	HiddenPosts    int                `json:"hidden_posts"`
	HiddenComments int                `json:"hidden_comments"`
	OpenReports    int                `json:"open_reports" doc:"Open reports of their posts and comments."`
	Actions        []ModerationAction `json:"actions" doc:"The latest 20, newest first."`
}

// Settings are a tenant's social settings.
type Settings struct {
	MaxPostLength             int      `json:"max_post_length" minimum:"1" maximum:"10000" doc:"Characters."`
	MaxCommentLength          int      `json:"max_comment_length" minimum:"1" maximum:"10000"`
	MaxImagesPerPost          int      `json:"max_images_per_post" minimum:"0" maximum:"10"`
	MaxImageBytes             int      `json:"max_image_bytes" minimum:"1024" maximum:"20971520"`
	PostsPerHour              int      `json:"posts_per_hour" minimum:"1" maximum:"10000" doc:"Per member."`
	CommentsPerHour           int      `json:"comments_per_hour" minimum:"1" maximum:"10000" doc:"Per member."`
	LikesPerMinute            int      `json:"likes_per_minute" minimum:"1" maximum:"10000" doc:"Per member: likes and unlikes together."`
	NewAccountHours           int      `json:"new_account_hours" minimum:"0" maximum:"8760" doc:"Members younger than this may not post links and earn no social coins (0: off)."`
	BlockedWords              []string `json:"blocked_words" maxItems:"1000" doc:"Words or phrases refused in posts and comments, matched as whole words in any case."`
	OwnPostCommentCoins       bool     `json:"own_post_comment_coins" doc:"Whether commenting on your own post earns comment.created."`
	ShowCoins                 bool     `json:"show_coins" doc:"Show coins earned on profiles."`
	RetentionDays             int      `json:"retention_days" minimum:"1" maximum:"3650" doc:"Deleted posts and comments are purged this many days after deletion."`
	NotificationRetentionDays int      `json:"notification_retention_days" minimum:"1" maximum:"3650"`
}

// DefaultSettings apply to a tenant that changed none.
var DefaultSettings = Settings{
	MaxPostLength: 2000, MaxCommentLength: 1000, MaxImagesPerPost: 4, MaxImageBytes: 5 << 20,
	PostsPerHour: 20, CommentsPerHour: 60, LikesPerMinute: 60, BlockedWords: []string{}, ShowCoins: true,
	RetentionDays: 30, NotificationRetentionDays: 90,
}

// Errors callers branch on.
var (
	ErrPostNotFound    = &engine.Error{Code: engine.CodeNotFound, Message: "No post has that ID."}
	ErrCommentNotFound = &engine.Error{Code: engine.CodeNotFound, Message: "No comment has that ID."}
	ErrMemberNotFound  = &engine.Error{Code: engine.CodeNotFound, Message: "No member has that ID or handle."}
	ErrReportNotFound  = &engine.Error{Code: engine.CodeNotFound, Message: "No report has that ID."}
	ErrImageNotFound   = &engine.Error{Code: engine.CodeNotFound, Message: "No image has that ID."}
	ErrSignIn          = &engine.Error{Code: engine.CodeUnauthenticated, Message: "Sign in as a member to do this."}
	ErrForbidden       = &engine.Error{Code: engine.CodeForbidden, Message: "You may not do this."}
	ErrBanned          = &engine.Error{Code: engine.CodeForbidden, Message: "This account is banned from this community."}
	ErrNotAuthor       = &engine.Error{Code: engine.CodeForbidden, Message: "Only the author can change or delete this."}
	ErrSelfFollow      = &engine.Error{Code: engine.CodeInvalid, Message: "You cannot follow yourself.",
		Fields: []engine.FieldError{{Field: "member_id", Message: "is you"}}}
	ErrHandleTaken = &engine.Error{Code: engine.CodeConflict, Message: "That handle is taken.",
		Fields: []engine.FieldError{{Field: "handle", Message: "is taken"}}}
	ErrAlreadyReported = &engine.Error{Code: engine.CodeConflict, Message: "You have already reported this; moderators will look at it."}
	ErrReportClosed    = &engine.Error{Code: engine.CodeConflict, Message: "This report is already closed."}
	ErrNoImages        = &engine.Error{Code: engine.CodeUnavailable, Message: "Image uploads are not available in this community."}
	ErrReplyDepth      = &engine.Error{Code: engine.CodeInvalid, Message: "Replies go to top-level comments only.",
		Fields: []engine.FieldError{{Field: "parent_id", Message: "is a reply; reply to the comment it answers"}}}
)

// suspended answers a suspended member's write.
func suspended(until time.Time) error {
	return &engine.Error{Code: engine.CodeForbidden,
		Message: "Your account is suspended until " + until.UTC().Format("2 January 2006 15:04 MST") + ": you can read, but not post, comment, like, follow or report."}
}

// isCode reports whether err is an engine error of code c.
func isCode(err error, c engine.Code) bool {
	e, ok := errors.AsType[*engine.Error](err)
	return ok && e.Code == c
}
