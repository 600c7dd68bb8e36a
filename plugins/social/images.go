package social

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/blob"
	"github.com/guildhall/guildhall/engine/ratelimit"
)

// The image types members may upload, with the file extension of their
// keys. SVG is never accepted: it is a document that can carry script.
var imageTypes = map[string]string{"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}

// UploadedImage is an image a member uploaded, ready to attach to a post.
type UploadedImage struct {
	ID          uuid.UUID `json:"id"`
	URL         string    `json:"url,omitempty"`
	ContentType string    `json:"content_type"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	Size        int       `json:"size" doc:"Bytes."`
}

// UploadImage stores an image for the member in ctx to attach to a post
// (CreatePost's Images) and returns its ID. The content decides the type
// (blob.CheckImage): a PNG, JPEG, GIF or WebP — never SVG — of at most the
// tenant's max_image_bytes, that decodes, with sane dimensions; a declared
// contentType other than that type (or a generic one) is refused.
// Metadata (location, camera) is stripped. It is stored under
// "{tenant}/social/{uuid}.{ext}"; an upload no post takes within a day is
// deleted by the cleanup job.
// Errors: invalid, unauthenticated, forbidden (banned, suspended),
// rate_limited, unavailable (no blob store).
func (s *Service) UploadImage(ctx context.Context, r io.Reader, contentType string) (UploadedImage, error) {
	me, err := s.self(ctx)
	if err != nil {
		return UploadedImage{}, err
	}
	if s.d.Blobs == nil {
		return UploadedImage{}, ErrNoImages
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return UploadedImage{}, err
	}
	declared, _, _ := mime.ParseMediaType(contentType)
	declared = strings.ToLower(declared)
	if _, ok := imageTypes[declared]; !ok && declared != "" && declared != "application/octet-stream" {
		return UploadedImage{}, invalidImage("must be a PNG, JPEG, GIF or WebP image (Content-Type image/png, image/jpeg, image/gif or image/webp)")
	}
	img, err := blob.CheckImage(r, int64(st.MaxImageBytes))
	if err != nil {
		return UploadedImage{}, err
	}
	if declared != "" && declared != "application/octet-stream" && declared != img.ContentType {
		return UploadedImage{}, invalidImage("is a " + img.ContentType + " file, not " + declared)
	}
	lim := ratelimit.PerHour(st.PostsPerHour * max(1, st.MaxImagesPerPost))
	if err := s.allow(ctx, "image", me, lim); err != nil {
		return UploadedImage{}, err
	}
	tenant, _ := engine.TenantFrom(ctx)
	id := uuid.Must(uuid.NewV7())
	key := tenant.String() + "/social/" + id.String() + "." + img.Ext
	// The object first, then its row: a failed transaction deletes the
	// object; a crash in between leaves an object no row names, which
	// costs storage and nothing else.
	if err := s.d.Blobs.Put(ctx, key, bytes.NewReader(img.Data), int64(len(img.Data)), img.ContentType); err != nil {
		return UploadedImage{}, fmt.Errorf("store image: %w", err)
	}
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		if _, err := s.writer(ctx, tx, me); err != nil {
			return err
		}
		return insertImage(ctx, tx, imageRow{ID: id, Owner: me, Key: key, ContentType: img.ContentType, Width: img.Width, Height: img.Height,
			Size: len(img.Data)})
	})
	if err != nil {
		if derr := s.d.Blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.d.Log.WarnContext(ctx, "delete image of a failed upload", "error", derr)
		}
		return UploadedImage{}, err
	}
	return UploadedImage{ID: id, URL: s.imageURL(ctx, key), ContentType: img.ContentType, Width: img.Width, Height: img.Height,
		Size: len(img.Data)}, nil
}

func invalidImage(msg string) error {
	return engine.Invalid([]engine.FieldError{{Field: "image", Message: msg}})
}
