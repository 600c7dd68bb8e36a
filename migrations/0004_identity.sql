-- Identity and access: end users and their memberships, sessions and
-- credentials, API keys, invitations, per-tenant limits; platform admins.

CREATE TABLE users (
	tenant_id         uuid        NOT NULL,
	id                uuid        NOT NULL,
	email             text,
	email_verified_at timestamptz,
	phone             text,
	display_name      text        NOT NULL,
	avatar_url        text        NOT NULL DEFAULT '',
	password_hash     text,
	totp_secret       bytea,
	totp_confirmed_at timestamptz,
	totp_last_step    bigint      NOT NULL DEFAULT 0,
	failed_sign_ins   integer     NOT NULL DEFAULT 0,
	locked_until      timestamptz,
	status            text        NOT NULL DEFAULT 'active',
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now(),
	deleted_at        timestamptz,
	CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT users_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
	CONSTRAINT users_email_key UNIQUE (tenant_id, email),
	CONSTRAINT users_phone_key UNIQUE (tenant_id, phone),
	CONSTRAINT users_email_check CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
	CONSTRAINT users_phone_check CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
	CONSTRAINT users_display_name_check CHECK (length(display_name) BETWEEN 1 AND 100),
	CONSTRAINT users_status_check CHECK (status IN ('active', 'deleted')),
	CONSTRAINT users_deleted_check CHECK (status <> 'deleted' OR (email IS NULL AND phone IS NULL AND password_hash IS NULL AND totp_secret IS NULL))
);

CREATE TABLE memberships (
	tenant_id  uuid        NOT NULL,
	user_id    uuid        NOT NULL,
	role       text        NOT NULL DEFAULT 'member',
	banned_at  timestamptz,
	ban_reason text        NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT memberships_pkey PRIMARY KEY (tenant_id, user_id),
	CONSTRAINT memberships_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
	CONSTRAINT memberships_role_check CHECK (role IN ('owner', 'admin', 'moderator', 'member'))
);

CREATE INDEX memberships_role_idx ON memberships (tenant_id, role);

-- A session is one sign-in: a family of refresh tokens (API clients) or a
-- cookie (web app, console).
CREATE TABLE sessions (
	tenant_id     uuid        NOT NULL,
	id            uuid        NOT NULL,
	user_id       uuid        NOT NULL,
	kind          text        NOT NULL,
	cookie_hash   bytea,
	created_at    timestamptz NOT NULL DEFAULT now(),
	expires_at    timestamptz NOT NULL,
	last_used_at  timestamptz NOT NULL DEFAULT now(),
	revoked_at    timestamptz,
	revoke_reason text        NOT NULL DEFAULT '',
	ip            inet,
	user_agent    text        NOT NULL DEFAULT '',
	CONSTRAINT sessions_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT sessions_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
	CONSTRAINT sessions_cookie_hash_key UNIQUE (tenant_id, cookie_hash),
	CONSTRAINT sessions_kind_check CHECK (kind IN ('api', 'web', 'console')),
	CONSTRAINT sessions_cookie_check CHECK ((kind = 'api') = (cookie_hash IS NULL))
);

CREATE INDEX sessions_user_idx ON sessions (tenant_id, user_id);

CREATE TABLE refresh_tokens (
	tenant_id  uuid        NOT NULL,
	token_hash bytea       NOT NULL,
	session_id uuid        NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	CONSTRAINT refresh_tokens_pkey PRIMARY KEY (tenant_id, token_hash),
	CONSTRAINT refresh_tokens_session_fkey FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id)
);

CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (tenant_id, session_id);

CREATE TABLE one_time_codes (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	purpose     text        NOT NULL,
	channel     text        NOT NULL,
	destination text        NOT NULL,
	user_id     uuid,
	code_hash   bytea       NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	attempts    integer     NOT NULL DEFAULT 0,
	consumed_at timestamptz,
	CONSTRAINT one_time_codes_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT one_time_codes_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
	CONSTRAINT one_time_codes_purpose_check CHECK (purpose IN ('sign_in', 'verify_email', 'verify_phone', 'reset_password')),
	CONSTRAINT one_time_codes_channel_check CHECK (channel IN ('email', 'sms'))
);

CREATE INDEX one_time_codes_destination_idx ON one_time_codes (tenant_id, destination, purpose, created_at DESC);

-- A password (or code) that was right, waiting for the second factor.
CREATE TABLE mfa_challenges (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	user_id     uuid        NOT NULL,
	token_hash  bytea       NOT NULL,
	kind        text        NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	attempts    integer     NOT NULL DEFAULT 0,
	consumed_at timestamptz,
	CONSTRAINT mfa_challenges_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT mfa_challenges_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
	CONSTRAINT mfa_challenges_token_hash_key UNIQUE (tenant_id, token_hash),
	CONSTRAINT mfa_challenges_kind_check CHECK (kind IN ('api', 'web', 'console'))
);

CREATE TABLE recovery_codes (
	tenant_id  uuid        NOT NULL,
	user_id    uuid        NOT NULL,
	code_hash  bytea       NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	used_at    timestamptz,
	CONSTRAINT recovery_codes_pkey PRIMARY KEY (tenant_id, user_id, code_hash),
	CONSTRAINT recovery_codes_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE api_keys (
	tenant_id    uuid        NOT NULL,
	id           uuid        NOT NULL,
	name         text        NOT NULL,
	prefix       text        NOT NULL,
	secret_hash  bytea       NOT NULL,
	scopes       text[]      NOT NULL,
	created_by   uuid,
	created_at   timestamptz NOT NULL DEFAULT now(),
	expires_at   timestamptz,
	last_used_at timestamptz,
	revoked_at   timestamptz,
	CONSTRAINT api_keys_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT api_keys_prefix_key UNIQUE (tenant_id, prefix),
	CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
	CONSTRAINT api_keys_name_check CHECK (length(name) BETWEEN 1 AND 100),
	CONSTRAINT api_keys_prefix_check CHECK (prefix ~ '^[a-z0-9]{8}$'),
	CONSTRAINT api_keys_scopes_check CHECK (cardinality(scopes) > 0)
);

CREATE TABLE invitations (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	email       text        NOT NULL,
	role        text        NOT NULL,
	token_hash  bytea       NOT NULL,
	invited_by  uuid,
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	accepted_at timestamptz,
	accepted_by uuid,
	revoked_at  timestamptz,
	CONSTRAINT invitations_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT invitations_token_hash_key UNIQUE (tenant_id, token_hash),
	CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (tenant_id, invited_by) REFERENCES users (tenant_id, id),
	CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (tenant_id, accepted_by) REFERENCES users (tenant_id, id),
	CONSTRAINT invitations_role_check CHECK (role IN ('owner', 'admin', 'moderator', 'member')),
	CONSTRAINT invitations_email_check CHECK (email = lower(email))
);

-- Per-tenant request limits; a tenant without a row has the defaults.
CREATE TABLE tenant_limits (
	tenant_id          uuid        NOT NULL,
	user_per_second    integer     NOT NULL,
	api_key_per_second integer     NOT NULL,
	ip_per_second      integer     NOT NULL,
	sign_in_per_minute integer     NOT NULL,
	codes_per_hour     integer     NOT NULL,
	updated_at         timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT tenant_limits_pkey PRIMARY KEY (tenant_id),
	CONSTRAINT tenant_limits_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
	CONSTRAINT tenant_limits_check CHECK (user_per_second BETWEEN 1 AND 100000 AND api_key_per_second BETWEEN 1 AND 100000
		AND ip_per_second BETWEEN 1 AND 100000 AND sign_in_per_minute BETWEEN 1 AND 1000 AND codes_per_hour BETWEEN 1 AND 1000)
);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['users', 'memberships', 'sessions', 'refresh_tokens', 'one_time_codes',
		'mfa_challenges', 'recovery_codes', 'api_keys', 'invitations', 'tenant_limits']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
	END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE ON users, memberships, sessions, refresh_tokens, one_time_codes, mfa_challenges, api_keys, invitations, tenant_limits TO guildhall_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes TO guildhall_app;

-- Every change that can take access away tells each server to drop what it
-- cached of that user, session or key. Delivered on commit.
CREATE FUNCTION identity_notify_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
	payload text;
BEGIN
	-- Each branch names only the columns of its own table: plpgsql resolves
	-- NEW's fields when it runs an expression.
	IF TG_TABLE_NAME = 'users' THEN
		payload := 'u:' || NEW.tenant_id || ':' || NEW.id;
	ELSIF TG_TABLE_NAME = 'memberships' THEN
		payload := 'u:' || NEW.tenant_id || ':' || NEW.user_id;
	ELSIF TG_TABLE_NAME = 'sessions' THEN
		payload := 's:' || NEW.tenant_id || ':' || NEW.id;
	ELSIF TG_TABLE_NAME = 'api_keys' THEN
		payload := 'k:' || NEW.tenant_id || ':' || NEW.prefix;
	ELSE
		payload := 'l:' || NEW.tenant_id;
	END IF;
	PERFORM pg_notify('guildhall_identity_changed', payload);
	RETURN NULL;
END
$$;

CREATE TRIGGER users_notify_changed AFTER UPDATE ON users
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.display_name IS DISTINCT FROM NEW.display_name)
	EXECUTE FUNCTION identity_notify_changed();
CREATE TRIGGER memberships_notify_changed AFTER UPDATE ON memberships
	FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.banned_at IS DISTINCT FROM NEW.banned_at)
	EXECUTE FUNCTION identity_notify_changed();
CREATE TRIGGER sessions_notify_changed AFTER UPDATE ON sessions
	FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
	EXECUTE FUNCTION identity_notify_changed();
CREATE TRIGGER api_keys_notify_changed AFTER UPDATE ON api_keys
	FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.scopes IS DISTINCT FROM NEW.scopes OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
	EXECUTE FUNCTION identity_notify_changed();
CREATE TRIGGER tenant_limits_notify_changed AFTER INSERT OR UPDATE ON tenant_limits
	FOR EACH ROW EXECUTE FUNCTION identity_notify_changed();

-- Platform admins manage every tenant; they are not users of any tenant.
CREATE TABLE platform_admins (
	id                uuid        NOT NULL,
	email             text        NOT NULL,
	display_name      text        NOT NULL,
	password_hash     text        NOT NULL,
	totp_secret       bytea,
	totp_confirmed_at timestamptz,
	totp_last_step    bigint      NOT NULL DEFAULT 0,
	failed_sign_ins   integer     NOT NULL DEFAULT 0,
	locked_until      timestamptz,
	created_at        timestamptz NOT NULL DEFAULT now(),
	disabled_at       timestamptz,
	CONSTRAINT platform_admins_pkey PRIMARY KEY (id),
	CONSTRAINT platform_admins_email_key UNIQUE (email),
	CONSTRAINT platform_admins_email_check CHECK (email = lower(email))
);

CREATE TABLE platform_sessions (
	id           uuid        NOT NULL,
	admin_id     uuid        NOT NULL,
	cookie_hash  bytea       NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	expires_at   timestamptz NOT NULL,
	last_used_at timestamptz NOT NULL DEFAULT now(),
	revoked_at   timestamptz,
	ip           inet,
	user_agent   text        NOT NULL DEFAULT '',
	CONSTRAINT platform_sessions_pkey PRIMARY KEY (id),
	CONSTRAINT platform_sessions_cookie_hash_key UNIQUE (cookie_hash),
	CONSTRAINT platform_sessions_admin_id_fkey FOREIGN KEY (admin_id) REFERENCES platform_admins (id)
);

-- A platform admin's password was right; the TOTP code is awaited.
CREATE TABLE platform_mfa_challenges (
	id          uuid        NOT NULL,
	admin_id    uuid        NOT NULL,
	token_hash  bytea       NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	attempts    integer     NOT NULL DEFAULT 0,
	consumed_at timestamptz,
	CONSTRAINT platform_mfa_challenges_pkey PRIMARY KEY (id),
	CONSTRAINT platform_mfa_challenges_token_hash_key UNIQUE (token_hash),
	CONSTRAINT platform_mfa_challenges_admin_id_fkey FOREIGN KEY (admin_id) REFERENCES platform_admins (id)
);

GRANT SELECT, INSERT, UPDATE ON platform_admins, platform_sessions, platform_mfa_challenges TO guildhall_app;
