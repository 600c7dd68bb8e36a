-- Members' notifications: stored per member, numbered in commit order,
-- pushed live over WebSocket and summed up in daily digests. See
-- docs/notifications.md and engine/inbox.

-- One row per member who was ever notified or chose settings. Its row lock
-- numbers the member's notifications: AddTx upserts (and so locks) it
-- before inserting, so a later seq always commits later and committed seqs
-- run 1, 2, 3 … without gaps.
CREATE TABLE inbox_members (
	tenant_id       uuid        NOT NULL,
	member_id       uuid        NOT NULL,
	-- The seq of the member's newest notification (0: none yet).
	last_seq        bigint      NOT NULL DEFAULT 0,
	-- The member wants the daily digest email.
	digest          boolean     NOT NULL DEFAULT true,
	-- The tenant-local day of the last digest sent (at most one a day),
	-- when it was made, and the member's last seq then: the next digest
	-- tells what came after that seq (seqs commit in order, so nothing
	-- committed late is skipped, as a time would).
	last_digest_day date,
	last_digest_at  timestamptz,
	last_digest_seq bigint      NOT NULL DEFAULT 0,
	updated_at      timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT inbox_members_pkey PRIMARY KEY (tenant_id, member_id),
	CONSTRAINT inbox_members_member_fkey FOREIGN KEY (tenant_id, member_id) REFERENCES users (tenant_id, id),
	CONSTRAINT inbox_members_last_seq_check CHECK (last_seq >= 0 AND last_digest_seq BETWEEN 0 AND last_seq),
	CONSTRAINT inbox_members_digest_check CHECK ((last_digest_day IS NULL) = (last_digest_at IS NULL))
);

CREATE TABLE notifications (
	tenant_id  uuid        NOT NULL,
	id         uuid        NOT NULL,
	member_id  uuid        NOT NULL,
	seq        bigint      NOT NULL,
	kind       text        NOT NULL,
	actor_id   uuid,
	subject    text        NOT NULL DEFAULT '',
	link       text        NOT NULL DEFAULT '',
	text       text        NOT NULL,
	data       jsonb,
	-- Set: the notification is once-only for the member (a like notifies
	-- the author once, however often it is undone and redone).
	dedupe_key text,
	created_at timestamptz NOT NULL DEFAULT now(),
	read_at    timestamptz,
	CONSTRAINT notifications_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT notifications_member_fkey FOREIGN KEY (tenant_id, member_id) REFERENCES users (tenant_id, id),
	CONSTRAINT notifications_actor_fkey FOREIGN KEY (tenant_id, actor_id) REFERENCES users (tenant_id, id),
	-- Lists newest first and backlogs after a seq use it.
	CONSTRAINT notifications_seq_key UNIQUE (tenant_id, member_id, seq),
	CONSTRAINT notifications_seq_check CHECK (seq > 0),
	CONSTRAINT notifications_kind_check CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$'),
	CONSTRAINT notifications_subject_check CHECK (length(subject) <= 200),
	CONSTRAINT notifications_link_check CHECK (link = '' OR (link ~ '^/[^/\\]' OR link = '/') AND length(link) <= 2000),
	CONSTRAINT notifications_text_check CHECK (length(text) BETWEEN 1 AND 500),
	CONSTRAINT notifications_data_check CHECK (data IS NULL OR jsonb_typeof(data) = 'object'),
	CONSTRAINT notifications_dedupe_key_check CHECK (length(dedupe_key) BETWEEN 1 AND 200)
);

CREATE UNIQUE INDEX notifications_dedupe_key_key ON notifications (tenant_id, member_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- Unread counts and the unread filter.
CREATE INDEX notifications_unread_idx ON notifications (tenant_id, member_id, seq) WHERE read_at IS NULL;
-- Retention (DeleteOlder).
CREATE INDEX notifications_created_idx ON notifications (tenant_id, created_at);
CREATE INDEX notifications_actor_idx ON notifications (tenant_id, actor_id) WHERE actor_id IS NOT NULL;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['inbox_members', 'notifications']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
	END LOOP;
END
$$;

-- Notifications are marked read and deleted by retention; a member's row
-- stays (its last_seq keeps numbering going after old rows are deleted).
GRANT SELECT, INSERT, UPDATE, DELETE ON notifications TO guildhall_app;
GRANT SELECT, INSERT, UPDATE ON inbox_members TO guildhall_app;
