package social

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// purgeBatch is how many items the cleanup deletes per transaction.
const purgeBatch = 500

// unattachedTTL is how long an uploaded image may wait for a post.
const unattachedTTL = 24 * time.Hour

// Cleanup is the daily job (plugin.Job "social.cleanup") for the tenant in
// ctx: it purges posts and comments deleted longer ago than the tenant's
// retention (with their likes, comments, images and image objects),
// images no post took within a day, and — through the NotificationPurger,
// when there is one — notifications older than the notification
// retention. Hidden content is kept: a moderator may restore it. It is
// idempotent: objects are deleted before their rows, so a run that fails
// half way leaves rows the next run finishes (deleting a missing object is
// not an error). day is unused: each run purges what is due at the time.
func (s *Service) Cleanup(ctx context.Context, day time.Time) error {
	st, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	cutoff := now.AddDate(0, 0, -st.RetentionDays)
	var posts, comments, images int
	for {
		n, err := s.purge(ctx, func(tx pgx.Tx) ([]purgeItem, error) { return deletedPosts(ctx, tx, cutoff, purgeBatch) }, deletePosts)
		posts += n
		if err != nil {
			return fmt.Errorf("purge posts: %w", err)
		}
		if n < purgeBatch {
			break
		}
	}
	for {
		var n int
		err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
			var err error
			n, err = purgeComments(ctx, tx, cutoff, purgeBatch)
			return err
		})
		comments += n
		if err != nil {
			return fmt.Errorf("purge comments: %w", err)
		}
		if n < purgeBatch {
			break
		}
	}
	for {
		n, err := s.purge(ctx, func(tx pgx.Tx) ([]purgeItem, error) {
			return unattachedImages(ctx, tx, now.Add(-unattachedTTL), purgeBatch)
		}, deleteImages)
		images += n
		if err != nil {
			return fmt.Errorf("purge images: %w", err)
		}
		if n < purgeBatch {
			break
		}
	}
	var notes int64
	if s.d.Purger != nil {
		if notes, err = s.d.Purger.DeleteOlder(ctx, now.AddDate(0, 0, -st.NotificationRetentionDays)); err != nil {
			return fmt.Errorf("purge notifications: %w", err)
		}
	}
	if posts+comments+images > 0 || notes > 0 {
		s.d.Log.InfoContext(ctx, "social cleanup", "posts", posts, "comments", comments, "images", images, "notifications", notes)
	}
	return nil
}

// purge deletes one batch: it reads the items and their objects' keys,
// deletes the objects, then the rows.
func (s *Service) purge(ctx context.Context, find func(pgx.Tx) ([]purgeItem, error),
	del func(ctx context.Context, tx pgx.Tx, items []purgeItem) error) (int, error) {
	var items []purgeItem
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		items, err = find(tx)
		return err
	})
	if err != nil || len(items) == 0 {
		return 0, err
	}
	if s.d.Blobs != nil {
		for _, it := range items {
			for _, k := range it.Keys {
				if err := s.d.Blobs.Delete(ctx, k); err != nil {
					return 0, fmt.Errorf("delete object: %w", err)
				}
			}
		}
	}
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error { return del(ctx, tx, items) })
	return len(items), err
}
