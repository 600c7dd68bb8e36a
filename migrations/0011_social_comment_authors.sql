-- A member's comments (the moderation view of a member, their report
-- counts) are found by author; without this they scanned the tenant's
-- comments.
CREATE INDEX social_comments_author_idx ON social_comments (tenant_id, author_id, created_at DESC, id DESC);
