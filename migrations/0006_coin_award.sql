-- The award: one call does the idempotency check, the caps, the counters,
-- the event, the ledger transaction and the wallet balance, so an award
-- costs one round trip. The caller (engine/rules) has already evaluated the
-- rule's condition and passes the coins due before caps (p_coins) or why
-- none are (p_reason).
--
-- Lock order: the idempotency key, the member's wallet, the member's
-- counters, the tenant's budget row. Everything but the budget belongs to
-- one member, so awards of different members never wait for each other
-- unless the tenant has a daily budget.
CREATE FUNCTION coin_award(
	p_event_id uuid, p_transaction_id uuid, p_scope text, p_key text, p_hash bytea,
	p_type text, p_member uuid, p_actor uuid, p_ref text, p_attributes jsonb, p_occurred_at timestamptz,
	p_source text, p_rule_id uuid, p_coins bigint, p_reason text
) RETURNS TABLE (
	event_id uuid, requested bigint, granted bigint, reason text, transaction_id uuid, balance bigint,
	replayed boolean, mismatch boolean
)
LANGUAGE plpgsql
AS $$
DECLARE
	t uuid := current_tenant_id();
	tz text;
	local timestamp;
	v_day date;
	v_status text;
	v_created timestamptz;
	v_role text;
	v_banned timestamptz;
	v_balance bigint;
	v_debt bigint;
	v_frozen timestamptz;
	r coin_rules%ROWTYPE;
	s_cap bigint := 500;
	s_budget bigint;
	pct integer := 100;
	g bigint := greatest(p_coins, 0);
	why text := p_reason;
	used bigint;
	cap bigint;
	pay bigint := 0;
	h bytea;
	resp jsonb;
	periods text[] := ARRAY['day', 'week', 'month', 'total'];
	starts date[];
	caps bigint[];
	i integer;
BEGIN
	IF t IS NULL THEN
		RAISE EXCEPTION 'no tenant set' USING ERRCODE = 'insufficient_privilege';
	END IF;

	-- An unknown member is answered before anything is written, so one
	-- bad event does not abort a batch.
	SELECT u.status, u.created_at, m.role, m.banned_at INTO v_status, v_created, v_role, v_banned
	FROM users u JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
	WHERE u.tenant_id = t AND u.id = p_member;
	IF NOT FOUND THEN
		RETURN QUERY SELECT NULL::uuid, 0::bigint, 0::bigint, 'unknown_member'::text, NULL::uuid, NULL::bigint, false, false;
		RETURN;
	END IF;

	IF p_key <> '' THEN
		INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash) VALUES (t, p_scope, p_key, p_hash)
		ON CONFLICT DO NOTHING;
		IF NOT FOUND THEN
			SELECT k.request_hash, k.response INTO h, resp FROM idempotency_keys k
			WHERE k.tenant_id = t AND k.scope = p_scope AND k.key = p_key;
			IF h IS DISTINCT FROM p_hash OR resp IS NULL THEN
				RETURN QUERY SELECT NULL::uuid, 0::bigint, 0::bigint, 'idempotency_key_reused'::text, NULL::uuid, NULL::bigint, false, true;
				RETURN;
			END IF;
			RETURN QUERY SELECT (resp->>'event_id')::uuid, (resp->>'requested')::bigint, (resp->>'granted')::bigint,
				resp->>'reason', (resp->>'transaction_id')::uuid, (resp->>'balance')::bigint, true, false;
			RETURN;
		END IF;
	END IF;

	INSERT INTO coin_accounts (tenant_id, id, kind, balance) VALUES (t, p_member, 'wallet', 0) ON CONFLICT DO NOTHING;
	SELECT a.balance, a.debt, a.frozen_at INTO v_balance, v_debt, v_frozen
	FROM coin_accounts a WHERE a.tenant_id = t AND a.id = p_member FOR UPDATE;

	SELECT tn.time_zone INTO tz FROM tenants tn WHERE tn.id = t;
	local := now() AT TIME ZONE tz;
	v_day := local::date;

	SELECT cs.member_daily_cap, cs.daily_budget INTO s_cap, s_budget FROM coin_settings cs WHERE cs.tenant_id = t;
	s_cap := coalesce(s_cap, 500);

	IF g > 0 THEN
		IF v_status <> 'active' THEN
			g := 0; why := 'member_inactive';
		ELSIF v_banned IS NOT NULL THEN
			g := 0; why := 'member_banned';
		ELSIF v_frozen IS NOT NULL THEN
			g := 0; why := 'wallet_frozen';
		END IF;
	END IF;

	IF p_rule_id IS NOT NULL THEN
		SELECT * INTO r FROM coin_rules cr WHERE cr.tenant_id = t AND cr.id = p_rule_id;
	END IF;

	IF g > 0 AND r.id IS NOT NULL THEN
		IF r.new_account_days IS NOT NULL AND v_created > now() - make_interval(days => r.new_account_days) AND g > r.new_account_coins THEN
			g := r.new_account_coins; why := 'new_account';
		END IF;
		pct := coalesce((r.cap_percent_by_role->>v_role)::integer, 100);
		starts := ARRAY[v_day, date_trunc('week', local)::date, date_trunc('month', local)::date, '2000-01-01'::date];
		caps := ARRAY[r.cap_day, r.cap_week, r.cap_month, r.cap_total];
		FOR i IN 1..4 LOOP
			IF caps[i] IS NOT NULL AND g > 0 THEN
				cap := caps[i] * pct / 100;
				SELECT c.amount INTO used FROM coin_counters c
				WHERE c.tenant_id = t AND c.member_id = p_member AND c.rule_id = r.id AND c.period = periods[i] AND c.period_start = starts[i];
				IF g > greatest(cap - coalesce(used, 0), 0) THEN
					g := greatest(cap - coalesce(used, 0), 0); why := 'rule_' || periods[i] || '_cap';
				END IF;
			END IF;
		END LOOP;
		IF r.pair_cap_day IS NOT NULL AND p_actor IS NOT NULL AND g > 0 THEN
			SELECT pc.awards INTO used FROM coin_pair_counters pc
			WHERE pc.tenant_id = t AND pc.actor_id = p_actor AND pc.member_id = p_member AND pc.rule_id = r.id AND pc.day = v_day;
			IF coalesce(used, 0) >= r.pair_cap_day THEN
				g := 0; why := 'pair_daily_cap';
			END IF;
		END IF;
	END IF;

	IF g > 0 THEN
		SELECT c.amount INTO used FROM coin_counters c
		WHERE c.tenant_id = t AND c.member_id = p_member AND c.rule_id = '00000000-0000-0000-0000-000000000000'
			AND c.period = 'day' AND c.period_start = v_day;
		IF g > greatest(s_cap - coalesce(used, 0), 0) THEN
			g := greatest(s_cap - coalesce(used, 0), 0); why := 'member_daily_cap';
		END IF;
	END IF;

	IF g > 0 AND s_budget IS NOT NULL THEN
		INSERT INTO coin_budget (tenant_id, day, amount) VALUES (t, v_day, 0) ON CONFLICT DO NOTHING;
		SELECT b.amount INTO used FROM coin_budget b WHERE b.tenant_id = t AND b.day = v_day FOR UPDATE;
		IF g > greatest(s_budget - used, 0) THEN
			g := greatest(s_budget - used, 0); why := 'tenant_daily_budget';
		END IF;
		IF g > 0 THEN
			UPDATE coin_budget b SET amount = b.amount + g WHERE b.tenant_id = t AND b.day = v_day;
		END IF;
	END IF;

	IF g > 0 THEN
		IF why = '' THEN
			why := 'granted';
		END IF;
		IF r.id IS NOT NULL THEN
			FOR i IN 1..4 LOOP
				IF caps[i] IS NOT NULL THEN
					INSERT INTO coin_counters (tenant_id, member_id, rule_id, period, period_start, amount)
					VALUES (t, p_member, r.id, periods[i], starts[i], g)
					ON CONFLICT ON CONSTRAINT coin_counters_pkey DO UPDATE SET amount = coin_counters.amount + g;
				END IF;
			END LOOP;
			IF r.pair_cap_day IS NOT NULL AND p_actor IS NOT NULL THEN
				INSERT INTO coin_pair_counters (tenant_id, actor_id, member_id, rule_id, day, awards)
				VALUES (t, p_actor, p_member, r.id, v_day, 1)
				ON CONFLICT ON CONSTRAINT coin_pair_counters_pkey DO UPDATE SET awards = coin_pair_counters.awards + 1;
			END IF;
		END IF;
		INSERT INTO coin_counters (tenant_id, member_id, rule_id, period, period_start, amount)
		VALUES (t, p_member, '00000000-0000-0000-0000-000000000000', 'day', v_day, g)
		ON CONFLICT ON CONSTRAINT coin_counters_pkey DO UPDATE SET amount = coin_counters.amount + g;

		-- Earnings pay off a carried debt first.
		pay := least(v_debt, g);
		INSERT INTO coin_transactions (tenant_id, id, kind, memo, event_id, rule_id, actor)
		VALUES (t, p_transaction_id, 'award', p_type, p_event_id, r.id, p_source);
		INSERT INTO coin_entries (tenant_id, id, transaction_id, account_id, amount, kind) VALUES
			(t, coin_entry_id(p_transaction_id, 1), p_transaction_id, coin_system_account('issuance'), -g, 'award'),
			(t, coin_entry_id(p_transaction_id, 2), p_transaction_id, p_member, g, 'award');
		IF pay > 0 THEN
			INSERT INTO coin_entries (tenant_id, id, transaction_id, account_id, amount, kind) VALUES
				(t, coin_entry_id(p_transaction_id, 3), p_transaction_id, p_member, -pay, 'debt_repayment'),
				(t, coin_entry_id(p_transaction_id, 4), p_transaction_id, coin_system_account('issuance'), pay, 'debt_repayment');
		END IF;
		UPDATE coin_accounts a SET balance = a.balance + g - pay, debt = a.debt - pay, updated_at = now()
		WHERE a.tenant_id = t AND a.id = p_member
		RETURNING a.balance INTO v_balance;
	ELSE
		g := 0;
		IF why = '' OR why = 'granted' THEN
			why := 'nothing_due';
		END IF;
	END IF;

	INSERT INTO coin_events (tenant_id, id, type, member_id, actor_id, ref, attributes, occurred_at, source, rule_id,
		requested, granted, reason, transaction_id)
	VALUES (t, p_event_id, p_type, p_member, p_actor, p_ref, p_attributes, p_occurred_at, p_source, r.id,
		greatest(p_coins, 0), g, why, CASE WHEN g > 0 THEN p_transaction_id END);

	IF p_key <> '' THEN
		UPDATE idempotency_keys k SET response = jsonb_build_object(
			'event_id', p_event_id, 'requested', greatest(p_coins, 0), 'granted', g, 'reason', why,
			'transaction_id', CASE WHEN g > 0 THEN p_transaction_id END, 'balance', v_balance)
		WHERE k.tenant_id = t AND k.scope = p_scope AND k.key = p_key;
	END IF;

	RETURN QUERY SELECT p_event_id, greatest(p_coins, 0), g, why, CASE WHEN g > 0 THEN p_transaction_id END, v_balance, false, false;
END
$$;

-- coin_entry_id derives the n-th entry id of a transaction from its UUIDv7
-- (the last four hex digits replaced by n): entry ids sort with their
-- transaction and stay time-ordered.
CREATE FUNCTION coin_entry_id(transaction_id uuid, n integer) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN overlay(transaction_id::text PLACING lpad(to_hex(n), 4, '0') FROM 33 FOR 4)::uuid;

REVOKE ALL ON FUNCTION coin_award FROM PUBLIC;
GRANT EXECUTE ON FUNCTION coin_award TO guildhall_app;
GRANT EXECUTE ON FUNCTION coin_system_account TO guildhall_app;
GRANT EXECUTE ON FUNCTION coin_entry_id TO guildhall_app;
