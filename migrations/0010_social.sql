-- The social plugin (plugins/social): profiles, posts and their images,
-- likes, comments, follows, reports, moderation actions, badges and each
-- tenant's settings. See docs/social.md.
--
-- Every table is a tenant table: tenant_id first in every key, row-level
-- security forced. Counters (likes, comments, posts, followers) are kept on
-- their rows by the service in the transaction of the change, with CHECKs
-- that they never go negative. Posts, comments and images are soft-deleted
-- (deleted_at) and purged by the cleanup job after the tenant's retention.

-- Per-tenant settings; a tenant without a row has the defaults.
CREATE TABLE social_settings (
	tenant_id                   uuid        NOT NULL,
	max_post_length             integer     NOT NULL DEFAULT 2000,
	max_comment_length          integer     NOT NULL DEFAULT 1000,
	max_images_per_post         integer     NOT NULL DEFAULT 4,
	max_image_bytes             integer     NOT NULL DEFAULT 5242880,
	posts_per_hour              integer     NOT NULL DEFAULT 20,
	comments_per_hour           integer     NOT NULL DEFAULT 60,
	likes_per_minute            integer     NOT NULL DEFAULT 60,
	-- Members younger than this many hours may not post links and earn no
	-- coins from social events (0: no such limit).
	new_account_hours           integer     NOT NULL DEFAULT 0,
	blocked_words               text[]      NOT NULL DEFAULT '{}',
	-- Whether commenting on your own post earns comment.created.
	own_post_comment_coins      boolean     NOT NULL DEFAULT false,
	show_coins                  boolean     NOT NULL DEFAULT true,
	retention_days              integer     NOT NULL DEFAULT 30,
	notification_retention_days integer     NOT NULL DEFAULT 90,
	updated_at                  timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_settings_pkey PRIMARY KEY (tenant_id),
	CONSTRAINT social_settings_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
	CONSTRAINT social_settings_lengths_check CHECK (max_post_length BETWEEN 1 AND 10000 AND max_comment_length BETWEEN 1 AND 10000),
	CONSTRAINT social_settings_images_check CHECK (max_images_per_post BETWEEN 0 AND 10 AND max_image_bytes BETWEEN 1024 AND 20971520),
	CONSTRAINT social_settings_rates_check CHECK (posts_per_hour BETWEEN 1 AND 10000 AND comments_per_hour BETWEEN 1 AND 10000
		AND likes_per_minute BETWEEN 1 AND 10000),
	CONSTRAINT social_settings_new_account_check CHECK (new_account_hours BETWEEN 0 AND 8760),
	CONSTRAINT social_settings_blocked_words_check CHECK (cardinality(blocked_words) <= 1000),
	CONSTRAINT social_settings_retention_check CHECK (retention_days BETWEEN 1 AND 3650 AND notification_retention_days BETWEEN 1 AND 3650)
);

-- A member's social profile, created on their first social action or
-- profile read. Handles are stored lower-case, so the unique key is
-- case-insensitive.
CREATE TABLE social_profiles (
	tenant_id       uuid        NOT NULL,
	member_id       uuid        NOT NULL,
	handle          text        NOT NULL,
	bio             text        NOT NULL DEFAULT '',
	post_count      integer     NOT NULL DEFAULT 0,
	follower_count  integer     NOT NULL DEFAULT 0,
	following_count integer     NOT NULL DEFAULT 0,
	-- Likes on the member's visible posts.
	likes_received  bigint      NOT NULL DEFAULT 0,
	suspended_until timestamptz,
	suspend_reason  text        NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_profiles_pkey PRIMARY KEY (tenant_id, member_id),
	CONSTRAINT social_profiles_member_fkey FOREIGN KEY (tenant_id, member_id) REFERENCES users (tenant_id, id),
	CONSTRAINT social_profiles_handle_key UNIQUE (tenant_id, handle),
	CONSTRAINT social_profiles_handle_check CHECK (handle ~ '^[a-z0-9_]{3,30}$'),
	CONSTRAINT social_profiles_bio_check CHECK (length(bio) <= 300),
	CONSTRAINT social_profiles_counts_check CHECK (post_count >= 0 AND follower_count >= 0 AND following_count >= 0 AND likes_received >= 0),
	CONSTRAINT social_profiles_suspend_reason_check CHECK (length(suspend_reason) <= 500)
);

CREATE TABLE social_posts (
	tenant_id     uuid        NOT NULL,
	id            uuid        NOT NULL,
	author_id     uuid        NOT NULL,
	-- The text as the member typed it (normalised), never HTML.
	text          text        NOT NULL,
	-- The @handles the text mentions, resolved when it was written:
	-- {"handle": "member id"}.
	mentions      jsonb       NOT NULL DEFAULT '{}',
	has_links     boolean     NOT NULL DEFAULT false,
	image_count   smallint    NOT NULL DEFAULT 0,
	like_count    integer     NOT NULL DEFAULT 0,
	comment_count integer     NOT NULL DEFAULT 0,
	created_at    timestamptz NOT NULL DEFAULT now(),
	edited_at     timestamptz,
	deleted_at    timestamptz,
	hidden_at     timestamptz,
	hidden_by     uuid,
	hide_reason   text        NOT NULL DEFAULT '',
	CONSTRAINT social_posts_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT social_posts_author_fkey FOREIGN KEY (tenant_id, author_id) REFERENCES social_profiles (tenant_id, member_id),
	CONSTRAINT social_posts_hidden_by_fkey FOREIGN KEY (tenant_id, hidden_by) REFERENCES users (tenant_id, id),
	CONSTRAINT social_posts_text_check CHECK (length(text) BETWEEN 1 AND 10000),
	CONSTRAINT social_posts_mentions_check CHECK (jsonb_typeof(mentions) = 'object'),
	CONSTRAINT social_posts_counts_check CHECK (like_count >= 0 AND comment_count >= 0 AND image_count BETWEEN 0 AND 10),
	CONSTRAINT social_posts_hide_reason_check CHECK (length(hide_reason) <= 500)
);

-- The community feed: visible posts, newest first.
CREATE INDEX social_posts_feed_idx ON social_posts (tenant_id, created_at DESC, id DESC)
	WHERE deleted_at IS NULL AND hidden_at IS NULL;
-- A member's posts (profile, following feed), newest first.
CREATE INDEX social_posts_author_idx ON social_posts (tenant_id, author_id, created_at DESC, id DESC)
	WHERE deleted_at IS NULL AND hidden_at IS NULL;
-- Moderation views and the cleanup job.
CREATE INDEX social_posts_hidden_idx ON social_posts (tenant_id, hidden_at DESC, id DESC) WHERE hidden_at IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX social_posts_deleted_idx ON social_posts (tenant_id, deleted_at) WHERE deleted_at IS NOT NULL;

-- Uploaded images: unattached (post_id NULL) until a post takes them.
CREATE TABLE social_images (
	tenant_id    uuid        NOT NULL,
	id           uuid        NOT NULL,
	owner_id     uuid        NOT NULL,
	post_id      uuid,
	position     smallint    NOT NULL DEFAULT 0,
	key          text        NOT NULL,
	content_type text        NOT NULL,
	width        integer     NOT NULL,
	height       integer     NOT NULL,
	size         integer     NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_images_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT social_images_owner_fkey FOREIGN KEY (tenant_id, owner_id) REFERENCES social_profiles (tenant_id, member_id),
	CONSTRAINT social_images_post_fkey FOREIGN KEY (tenant_id, post_id) REFERENCES social_posts (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT social_images_key_key UNIQUE (tenant_id, key),
	CONSTRAINT social_images_content_type_check CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
	CONSTRAINT social_images_dims_check CHECK (width > 0 AND height > 0 AND size > 0 AND position BETWEEN 0 AND 9)
);

CREATE INDEX social_images_post_idx ON social_images (tenant_id, post_id, position) WHERE post_id IS NOT NULL;
CREATE INDEX social_images_unattached_idx ON social_images (tenant_id, created_at) WHERE post_id IS NULL;

-- One like per member and post (the primary key).
CREATE TABLE social_likes (
	tenant_id  uuid        NOT NULL,
	post_id    uuid        NOT NULL,
	member_id  uuid        NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_likes_pkey PRIMARY KEY (tenant_id, post_id, member_id),
	CONSTRAINT social_likes_post_fkey FOREIGN KEY (tenant_id, post_id) REFERENCES social_posts (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT social_likes_member_fkey FOREIGN KEY (tenant_id, member_id) REFERENCES social_profiles (tenant_id, member_id)
);

-- A member liked a post at least once. Only the first like of a member on
-- a post sends like.received and notifies the author: unliking and liking
-- again earns nothing, however long after.
CREATE TABLE social_first_likes (
	tenant_id uuid        NOT NULL,
	post_id   uuid        NOT NULL,
	member_id uuid        NOT NULL,
	liked_at  timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_first_likes_pkey PRIMARY KEY (tenant_id, post_id, member_id),
	CONSTRAINT social_first_likes_post_fkey FOREIGN KEY (tenant_id, post_id) REFERENCES social_posts (tenant_id, id) ON DELETE CASCADE
);

-- Comments on posts, with one level of replies (parent_id: a top-level
-- comment of the same post; the service refuses replies to replies).
CREATE TABLE social_comments (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	post_id     uuid        NOT NULL,
	parent_id   uuid,
	author_id   uuid        NOT NULL,
	text        text        NOT NULL,
	mentions    jsonb       NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL DEFAULT now(),
	edited_at   timestamptz,
	deleted_at  timestamptz,
	hidden_at   timestamptz,
	hidden_by   uuid,
	hide_reason text        NOT NULL DEFAULT '',
	CONSTRAINT social_comments_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT social_comments_post_id_key UNIQUE (tenant_id, post_id, id),
	CONSTRAINT social_comments_post_fkey FOREIGN KEY (tenant_id, post_id) REFERENCES social_posts (tenant_id, id) ON DELETE CASCADE,
	-- A reply belongs to the post of its parent.
	CONSTRAINT social_comments_parent_fkey FOREIGN KEY (tenant_id, post_id, parent_id)
		REFERENCES social_comments (tenant_id, post_id, id) ON DELETE CASCADE,
	CONSTRAINT social_comments_author_fkey FOREIGN KEY (tenant_id, author_id) REFERENCES social_profiles (tenant_id, member_id),
	CONSTRAINT social_comments_hidden_by_fkey FOREIGN KEY (tenant_id, hidden_by) REFERENCES users (tenant_id, id),
	CONSTRAINT social_comments_text_check CHECK (length(text) BETWEEN 1 AND 10000),
	CONSTRAINT social_comments_mentions_check CHECK (jsonb_typeof(mentions) = 'object'),
	CONSTRAINT social_comments_parent_check CHECK (parent_id <> id),
	CONSTRAINT social_comments_hide_reason_check CHECK (length(hide_reason) <= 500)
);

CREATE INDEX social_comments_post_idx ON social_comments (tenant_id, post_id, created_at, id) WHERE parent_id IS NULL;
CREATE INDEX social_comments_parent_idx ON social_comments (tenant_id, parent_id, created_at, id) WHERE parent_id IS NOT NULL;
CREATE INDEX social_comments_deleted_idx ON social_comments (tenant_id, deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE social_follows (
	tenant_id   uuid        NOT NULL,
	follower_id uuid        NOT NULL,
	followee_id uuid        NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_follows_pkey PRIMARY KEY (tenant_id, follower_id, followee_id),
	CONSTRAINT social_follows_follower_fkey FOREIGN KEY (tenant_id, follower_id) REFERENCES social_profiles (tenant_id, member_id),
	CONSTRAINT social_follows_followee_fkey FOREIGN KEY (tenant_id, followee_id) REFERENCES social_profiles (tenant_id, member_id),
	CONSTRAINT social_follows_self_check CHECK (follower_id <> followee_id)
);

-- Lists newest first: whom a member follows, and who follows them.
CREATE INDEX social_follows_following_idx ON social_follows (tenant_id, follower_id, created_at DESC, followee_id DESC);
CREATE INDEX social_follows_followers_idx ON social_follows (tenant_id, followee_id, created_at DESC, follower_id DESC);

-- Reports of posts and comments by members. A member has at most one open
-- report per target.
CREATE TABLE social_reports (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	target_kind text        NOT NULL,
	target_id   uuid        NOT NULL,
	reporter_id uuid        NOT NULL,
	reason      text        NOT NULL,
	status      text        NOT NULL DEFAULT 'open',
	resolved_by text        NOT NULL DEFAULT '',
	resolved_at timestamptz,
	note        text        NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_reports_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT social_reports_reporter_fkey FOREIGN KEY (tenant_id, reporter_id) REFERENCES users (tenant_id, id),
	CONSTRAINT social_reports_target_kind_check CHECK (target_kind IN ('post', 'comment')),
	CONSTRAINT social_reports_reason_check CHECK (length(reason) BETWEEN 1 AND 500),
	CONSTRAINT social_reports_status_check CHECK (status IN ('open', 'resolved', 'dismissed')),
	CONSTRAINT social_reports_resolved_check CHECK ((status = 'open') = (resolved_at IS NULL)),
	CONSTRAINT social_reports_note_check CHECK (length(note) <= 1000)
);

CREATE UNIQUE INDEX social_reports_open_key ON social_reports (tenant_id, target_kind, target_id, reporter_id) WHERE status = 'open';
CREATE INDEX social_reports_queue_idx ON social_reports (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX social_reports_target_idx ON social_reports (tenant_id, target_kind, target_id);

-- What moderators did: append-only (the audit log records it too).
CREATE TABLE social_moderation_actions (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	actor       text        NOT NULL,
	action      text        NOT NULL,
	target_kind text        NOT NULL,
	target_id   uuid        NOT NULL,
	member_id   uuid        NOT NULL,
	reason      text        NOT NULL DEFAULT '',
	until       timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_moderation_actions_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT social_moderation_actions_member_fkey FOREIGN KEY (tenant_id, member_id) REFERENCES users (tenant_id, id),
	CONSTRAINT social_moderation_actions_action_check CHECK (action IN ('warn', 'suspend', 'unsuspend', 'hide', 'restore', 'delete')),
	CONSTRAINT social_moderation_actions_target_kind_check CHECK (target_kind IN ('post', 'comment', 'member')),
	CONSTRAINT social_moderation_actions_reason_check CHECK (length(reason) <= 500)
);

CREATE INDEX social_moderation_actions_member_idx ON social_moderation_actions (tenant_id, member_id, created_at DESC);

-- Milestone badges, awarded once (the primary key).
CREATE TABLE social_badges (
	tenant_id  uuid        NOT NULL,
	member_id  uuid        NOT NULL,
	badge      text        NOT NULL,
	awarded_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT social_badges_pkey PRIMARY KEY (tenant_id, member_id, badge),
	CONSTRAINT social_badges_member_fkey FOREIGN KEY (tenant_id, member_id) REFERENCES social_profiles (tenant_id, member_id),
	CONSTRAINT social_badges_badge_check CHECK (badge ~ '^[a-z][a-z0-9_]{0,39}$')
);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['social_settings', 'social_profiles', 'social_posts', 'social_images', 'social_likes',
		'social_first_likes', 'social_comments', 'social_follows', 'social_reports', 'social_moderation_actions', 'social_badges']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
	END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE ON social_settings, social_profiles TO guildhall_app;
-- DELETE: the cleanup job purges posts, comments and images past
-- retention; unlike and unfollow delete their rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON social_posts, social_images, social_likes, social_first_likes, social_comments,
	social_follows TO guildhall_app;
GRANT SELECT, INSERT, UPDATE ON social_reports TO guildhall_app;
GRANT SELECT, INSERT ON social_moderation_actions, social_badges TO guildhall_app;
