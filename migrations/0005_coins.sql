-- Coins: the double-entry ledger, rules, caps, events, idempotency keys.
-- See docs/coins.md.

-- Wallets (id = the member's user id) and four system accounts per tenant
-- with fixed ids. Only wallets keep a running balance: system accounts'
-- balances are the sums of their entries (a running total would make every
-- award of a tenant wait on one row).
CREATE TABLE coin_accounts (
	tenant_id  uuid        NOT NULL,
	id         uuid        NOT NULL,
	kind       text        NOT NULL,
	user_id    uuid        GENERATED ALWAYS AS (CASE WHEN kind = 'wallet' THEN id END) STORED,
	balance    bigint,
	debt       bigint      NOT NULL DEFAULT 0,
	frozen_at  timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT coin_accounts_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT coin_accounts_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
	CONSTRAINT coin_accounts_kind_check CHECK (kind IN ('wallet', 'issuance', 'redemptions', 'expiry', 'adjustments')),
	CONSTRAINT coin_accounts_balance_check CHECK ((kind = 'wallet') = (balance IS NOT NULL) AND (balance IS NULL OR balance >= 0)),
	CONSTRAINT coin_accounts_debt_check CHECK (debt >= 0 AND (kind = 'wallet' OR debt = 0))
);

-- The fixed ids of system accounts.
CREATE FUNCTION coin_system_account(kind text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE kind
	WHEN 'issuance' THEN '00000000-0000-0000-0000-000000000001'::uuid
	WHEN 'redemptions' THEN '00000000-0000-0000-0000-000000000002'::uuid
	WHEN 'expiry' THEN '00000000-0000-0000-0000-000000000003'::uuid
	WHEN 'adjustments' THEN '00000000-0000-0000-0000-000000000004'::uuid
END;

CREATE TABLE coin_transactions (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	kind        text        NOT NULL,
	memo        text        NOT NULL DEFAULT '',
	event_id    uuid,
	rule_id     uuid,
	order_id    uuid,
	reverses_id uuid,
	shortfall   bigint      NOT NULL DEFAULT 0,
	actor       text        NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT coin_transactions_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT coin_transactions_reverses_fkey FOREIGN KEY (tenant_id, reverses_id) REFERENCES coin_transactions (tenant_id, id),
	CONSTRAINT coin_transactions_kind_check CHECK (kind IN ('award', 'bonus', 'redemption', 'refund', 'adjustment', 'reversal', 'expiry')),
	CONSTRAINT coin_transactions_reversal_check CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL)),
	CONSTRAINT coin_transactions_shortfall_check CHECK (shortfall >= 0)
);

-- A transaction is reversed at most once.
CREATE UNIQUE INDEX coin_transactions_reverses_key ON coin_transactions (tenant_id, reverses_id) WHERE reverses_id IS NOT NULL;
CREATE INDEX coin_transactions_event_idx ON coin_transactions (tenant_id, event_id) WHERE event_id IS NOT NULL;

CREATE TABLE coin_entries (
	tenant_id      uuid        NOT NULL,
	id             uuid        NOT NULL,
	transaction_id uuid        NOT NULL,
	account_id     uuid        NOT NULL,
	amount         bigint      NOT NULL,
	kind           text        NOT NULL,
	created_at     timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT coin_entries_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT coin_entries_transaction_fkey FOREIGN KEY (tenant_id, transaction_id) REFERENCES coin_transactions (tenant_id, id),
	CONSTRAINT coin_entries_amount_check CHECK (amount <> 0)
);
-- No foreign key from account_id to coin_accounts: its check would take a
-- share lock on the issuance account's row for every award, and thousands
-- of concurrent share-lockers of one row serialize on it. Entries name only
-- the fixed system accounts (created with the tenant) and wallets (created
-- before their first entry, by coin_award and ledger.Post); ledger verify
-- reports an entry of an unknown account.

CREATE INDEX coin_entries_account_idx ON coin_entries (tenant_id, account_id, created_at DESC, id DESC);
CREATE INDEX coin_entries_transaction_idx ON coin_entries (tenant_id, transaction_id);

-- Double entry: every transaction's entries sum to zero, checked when the
-- database transaction commits (all entries are in by then).
CREATE FUNCTION coin_entries_balanced() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF (SELECT sum(amount) FROM coin_entries WHERE tenant_id = NEW.tenant_id AND transaction_id = NEW.transaction_id) <> 0 THEN
		RAISE EXCEPTION 'coin transaction % does not balance', NEW.transaction_id
			USING ERRCODE = 'check_violation', CONSTRAINT = 'coin_entries_balanced';
	END IF;
	RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER coin_entries_balanced AFTER INSERT ON coin_entries
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION coin_entries_balanced();

-- Per-tenant coin settings; a tenant without a row has the defaults.
CREATE TABLE coin_settings (
	tenant_id             uuid        NOT NULL,
	member_daily_cap      bigint      NOT NULL DEFAULT 500,
	daily_budget          bigint,
	expiry_days           integer,
	bonus_coins           bigint      NOT NULL DEFAULT 0,
	bonus_min_active_days integer     NOT NULL DEFAULT 5,
	updated_at            timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT coin_settings_pkey PRIMARY KEY (tenant_id),
	CONSTRAINT coin_settings_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
	CONSTRAINT coin_settings_check CHECK (member_daily_cap >= 0 AND (daily_budget IS NULL OR daily_budget >= 0)
		AND (expiry_days IS NULL OR expiry_days BETWEEN 1 AND 3650) AND bonus_coins >= 0 AND bonus_min_active_days BETWEEN 1 AND 7)
);

CREATE TABLE coin_rules (
	tenant_id           uuid        NOT NULL,
	id                  uuid        NOT NULL,
	event_type          text        NOT NULL,
	name                text        NOT NULL DEFAULT '',
	coins               bigint      NOT NULL,
	condition           text        NOT NULL DEFAULT '',
	enabled             boolean     NOT NULL DEFAULT true,
	cap_day             bigint,
	cap_week            bigint,
	cap_month           bigint,
	cap_total           bigint,
	pair_cap_day        integer,
	new_account_days    integer,
	new_account_coins   bigint      NOT NULL DEFAULT 0,
	cap_percent_by_role jsonb       NOT NULL DEFAULT '{}',
	reversal            text        NOT NULL DEFAULT 'reverse_remaining',
	created_at          timestamptz NOT NULL DEFAULT now(),
	updated_at          timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT coin_rules_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT coin_rules_event_type_key UNIQUE (tenant_id, event_type),
	CONSTRAINT coin_rules_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
	CONSTRAINT coin_rules_event_type_check CHECK (event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
	CONSTRAINT coin_rules_coins_check CHECK (coins BETWEEN 0 AND 1000000 AND new_account_coins BETWEEN 0 AND coins),
	CONSTRAINT coin_rules_caps_check CHECK (coalesce(cap_day, 0) >= 0 AND coalesce(cap_week, 0) >= 0 AND coalesce(cap_month, 0) >= 0
		AND coalesce(cap_total, 0) >= 0 AND coalesce(pair_cap_day, 0) >= 0 AND coalesce(new_account_days, 0) >= 0),
	CONSTRAINT coin_rules_reversal_check CHECK (reversal IN ('reverse_remaining', 'carry_debt'))
);

-- What was granted per member, rule (the nil uuid: all rules) and period
-- of the tenant's calendar. Only periods with a cap are counted.
CREATE TABLE coin_counters (
	tenant_id    uuid   NOT NULL,
	member_id    uuid   NOT NULL,
	rule_id      uuid   NOT NULL,
	period       text   NOT NULL,
	period_start date   NOT NULL,
	amount       bigint NOT NULL,
	CONSTRAINT coin_counters_pkey PRIMARY KEY (tenant_id, member_id, rule_id, period, period_start),
	CONSTRAINT coin_counters_period_check CHECK (period IN ('day', 'week', 'month', 'total'))
);

-- How many times an actor earned a member coins by a rule, per day.
CREATE TABLE coin_pair_counters (
	tenant_id uuid    NOT NULL,
	actor_id  uuid    NOT NULL,
	member_id uuid    NOT NULL,
	rule_id   uuid    NOT NULL,
	day       date    NOT NULL,
	awards    integer NOT NULL,
	CONSTRAINT coin_pair_counters_pkey PRIMARY KEY (tenant_id, actor_id, member_id, rule_id, day)
);

-- What a tenant granted per day, for its daily budget.
CREATE TABLE coin_budget (
	tenant_id uuid   NOT NULL,
	day       date   NOT NULL,
	amount    bigint NOT NULL,
	CONSTRAINT coin_budget_pkey PRIMARY KEY (tenant_id, day)
);

-- Every event received, with its decision.
CREATE TABLE coin_events (
	tenant_id      uuid        NOT NULL,
	id             uuid        NOT NULL,
	type           text        NOT NULL,
	member_id      uuid        NOT NULL,
	actor_id       uuid,
	ref            text        NOT NULL DEFAULT '',
	attributes     jsonb       NOT NULL DEFAULT '{}',
	occurred_at    timestamptz NOT NULL,
	received_at    timestamptz NOT NULL DEFAULT now(),
	source         text        NOT NULL,
	rule_id        uuid,
	requested      bigint      NOT NULL,
	granted        bigint      NOT NULL,
	reason         text        NOT NULL,
	transaction_id uuid,
	reversed_at    timestamptz,
	CONSTRAINT coin_events_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT coin_events_member_fkey FOREIGN KEY (tenant_id, member_id) REFERENCES users (tenant_id, id),
	CONSTRAINT coin_events_granted_check CHECK (granted BETWEEN 0 AND requested)
);

CREATE INDEX coin_events_received_idx ON coin_events (tenant_id, received_at);
CREATE INDEX coin_events_ref_idx ON coin_events (tenant_id, ref) WHERE ref <> '';
CREATE INDEX coin_events_member_idx ON coin_events (tenant_id, member_id, received_at);

-- Idempotency keys of every coin write, with the answer given.
CREATE TABLE idempotency_keys (
	tenant_id    uuid        NOT NULL,
	scope        text        NOT NULL,
	key          text        NOT NULL,
	request_hash bytea       NOT NULL,
	response     jsonb,
	created_at   timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, scope, key),
	CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 200)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (tenant_id, created_at);

CREATE TABLE coin_daily_stats (
	tenant_id      uuid        NOT NULL,
	day            date        NOT NULL,
	issued         bigint      NOT NULL,
	redeemed       bigint      NOT NULL,
	active_members integer     NOT NULL,
	computed_at    timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT coin_daily_stats_pkey PRIMARY KEY (tenant_id, day)
);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['coin_accounts', 'coin_transactions', 'coin_entries', 'coin_settings', 'coin_rules',
		'coin_counters', 'coin_pair_counters', 'coin_budget', 'coin_events', 'idempotency_keys', 'coin_daily_stats']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
	END LOOP;
END
$$;

-- Entries and transactions are append-only for the application.
GRANT SELECT, INSERT ON coin_transactions, coin_entries TO guildhall_app;
GRANT SELECT, INSERT, UPDATE ON coin_accounts, coin_settings, coin_rules, coin_counters, coin_pair_counters, coin_budget,
	coin_events, coin_daily_stats TO guildhall_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO guildhall_app;
GRANT DELETE ON coin_rules TO guildhall_app;

-- Rules changed: every server reloads the tenant's rule set.
CREATE FUNCTION coin_rules_notify_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_notify('guildhall_rules_changed', coalesce(NEW.tenant_id, OLD.tenant_id)::text);
	RETURN NULL;
END
$$;

CREATE TRIGGER coin_rules_notify_changed AFTER INSERT OR UPDATE OR DELETE ON coin_rules
	FOR EACH ROW EXECUTE FUNCTION coin_rules_notify_changed();
CREATE TRIGGER coin_settings_notify_changed AFTER INSERT OR UPDATE ON coin_settings
	FOR EACH ROW EXECUTE FUNCTION coin_rules_notify_changed();

-- Every tenant has its four system accounts from the start (awards post to
-- the issuance account without checking for it). A tenant is created in a
-- transaction scoped to its own ID, which row-level security requires here.
CREATE FUNCTION tenants_create_coin_accounts() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	INSERT INTO coin_accounts (tenant_id, id, kind)
	SELECT NEW.id, coin_system_account(k), k FROM unnest(ARRAY['issuance', 'redemptions', 'expiry', 'adjustments']) k
	ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;

CREATE TRIGGER tenants_create_coin_accounts AFTER INSERT ON tenants
	FOR EACH ROW EXECUTE FUNCTION tenants_create_coin_accounts();

DO $$
DECLARE
	t uuid;
BEGIN
	FOR t IN SELECT id FROM tenants LOOP
		PERFORM set_config('app.tenant_id', t::text, true);
		INSERT INTO coin_accounts (tenant_id, id, kind)
		SELECT t, coin_system_account(k), k FROM unnest(ARRAY['issuance', 'redemptions', 'expiry', 'adjustments']) k
		ON CONFLICT DO NOTHING;
	END LOOP;
	PERFORM set_config('app.tenant_id', '', true);
END
$$;
