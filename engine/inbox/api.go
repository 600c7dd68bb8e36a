package inbox

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
)

// tag is the OpenAPI tag of the notification operations; its description
// documents the live stream, which huma cannot describe.
var tag = &huma.Tag{
	Name: "Notifications",
	Description: "A member's notifications: likes, comments, follows, coins, orders… Each has a seq that numbers the member's " +
		"notifications in commit order (1, 2, 3, …).\n\n" +
		"**Live stream.** `GET " + LivePath + "` upgrades to a WebSocket. Authenticate with the member's access token in " +
		"`Authorization: Bearer …` or, from a browser, in the `access_token` query parameter; failures are answered before the " +
		"upgrade (401, 403, 429 for more than 10 connections of one member per server). With `after=<seq>` the server first " +
		"sends every stored notification after that seq, in order, then live ones, without gaps or duplicates: reconnect with " +
		"the last seq you received and you miss nothing. The server sends JSON text messages " +
		"`{\"type\":\"notification\",\"notification\":{…}}` and `{\"type\":\"heartbeat\",\"unread\":N}` (right after the " +
		"backlog, about every 25 seconds, and when the unread count changes by a read); the client may send " +
		"`{\"type\":\"read\",\"up_to_seq\":N}`. A client too slow to keep up is closed with code 1008, a server going away " +
		"with 1001: reconnect with `after`. When the session behind the token ends (sign-out, revocation, ban, expiry) the " +
		"connection is closed with 4401 within a heartbeat: sign in again before reconnecting. See docs/notifications.md.",
}

// ListNotificationsOutput is a page of notifications.
type ListNotificationsOutput struct {
	Body struct {
		Notifications []Notification `json:"notifications"`
		Next          string         `json:"next,omitempty" doc:"The cursor of the next page; absent on the last."`
	}
}

// UnreadCountOutput is the unread count.
type UnreadCountOutput struct {
	Body struct {
		Unread int64 `json:"unread"`
	}
}

// MarkReadBody says which notifications to mark read: ids, or every one
// up to a seq.
type MarkReadBody struct {
	IDs     []uuid.UUID `json:"ids,omitempty" maxItems:"100" doc:"Notifications to mark read; IDs already read or unknown are skipped."`
	UpToSeq *int64      `json:"up_to_seq,omitempty" minimum:"1" doc:"Mark every notification up to this seq read (the newest you have shown), leaving newer ones unread."`
}

// RegisterAPI registers the member's notification operations.
func RegisterAPI(a huma.API, s *Service) {
	a.OpenAPI().Tags = append(a.OpenAPI().Tags, tag)
	tags := []string{tag.Name}
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-notifications", Method: http.MethodGet, Path: api.Prefix + "/me/notifications", Tags: tags,
		Summary:     "List my notifications",
		Description: "Newest first (by seq), optionally only unread ones.",
	}, api.Self), func(ctx context.Context, in *struct {
		Unread bool   `query:"unread" doc:"Only unread notifications."`
		Cursor string `query:"cursor" maxLength:"200"`
		Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	}) (*ListNotificationsOutput, error) {
		page, err := s.List(ctx, ListParams{Unread: in.Unread, Cursor: in.Cursor, Limit: in.Limit})
		if err != nil {
			return nil, err
		}
		out := &ListNotificationsOutput{}
		out.Body.Notifications, out.Body.Next = page.Notifications, page.Next
		if out.Body.Notifications == nil {
			out.Body.Notifications = []Notification{}
		}
		return out, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-unread-count", Method: http.MethodGet, Path: api.Prefix + "/me/notifications/unread-count", Tags: tags,
		Summary: "Count my unread notifications",
	}, api.Self), func(ctx context.Context, _ *struct{}) (*UnreadCountOutput, error) {
		n, err := s.UnreadCount(ctx)
		if err != nil {
			return nil, err
		}
		out := &UnreadCountOutput{}
		out.Body.Unread = n
		return out, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "mark-notifications-read", Method: http.MethodPost, Path: api.Prefix + "/me/notifications/read", Tags: tags,
		Summary: "Mark notifications read",
		Description: "Give either ids or up_to_seq. Idempotent: notifications already read are skipped. My live connections " +
			"learn the new unread count.",
	}, api.Self), func(ctx context.Context, in *struct{ Body MarkReadBody }) (*struct{ Body ReadResult }, error) {
		var res ReadResult
		var err error
		switch {
		case in.Body.UpToSeq != nil && in.Body.IDs != nil, in.Body.UpToSeq == nil && len(in.Body.IDs) == 0:
			return nil, engine.Invalid([]engine.FieldError{{Field: "ids", Message: "give either ids (1 to 100) or up_to_seq"}})
		case in.Body.UpToSeq != nil:
			res, err = s.MarkAllRead(ctx, *in.Body.UpToSeq)
		default:
			res, err = s.MarkRead(ctx, in.Body.IDs)
		}
		if err != nil {
			return nil, err
		}
		return &struct{ Body ReadResult }{Body: res}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-notification-settings", Method: http.MethodGet, Path: api.Prefix + "/me/notification-settings", Tags: tags,
		Summary: "Get my notification settings",
	}, api.Self), func(ctx context.Context, _ *struct{}) (*struct{ Body Preferences }, error) {
		set, err := s.Settings(ctx)
		if err != nil {
			return nil, err
		}
		return &struct{ Body Preferences }{Body: set}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "update-notification-settings", Method: http.MethodPut, Path: api.Prefix + "/me/notification-settings", Tags: tags,
		Summary: "Replace my notification settings",
	}, api.Self), func(ctx context.Context, in *struct{ Body Preferences }) (*struct{ Body Preferences }, error) {
		set, err := s.SetSettings(ctx, in.Body)
		if err != nil {
			return nil, err
		}
		return &struct{ Body Preferences }{Body: set}, nil
	})
}
