-- Rewards: the catalog of each tenant, coupon code pools, and the orders
-- members place by redeeming coins. See docs/coins.md ("Rewards") and
-- engine/rewards.

CREATE TABLE rewards (
	tenant_id        uuid        NOT NULL,
	id               uuid        NOT NULL,
	name             text        NOT NULL,
	description      text        NOT NULL DEFAULT '',
	image_url        text        NOT NULL DEFAULT '',
	kind             text        NOT NULL,
	price            bigint      NOT NULL,
	-- NULL: unlimited. Redemptions decrement it under the row lock; the
	-- CHECK makes going below zero impossible whatever the code does.
	stock            integer,
	-- Live (pending or fulfilled) orders one member may hold; NULL: no limit.
	per_member_limit integer,
	available_from   timestamptz,
	available_until  timestamptz,
	active           boolean     NOT NULL DEFAULT true,
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT rewards_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT rewards_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
	CONSTRAINT rewards_name_check CHECK (length(name) BETWEEN 1 AND 100),
	CONSTRAINT rewards_description_check CHECK (length(description) <= 2000),
	CONSTRAINT rewards_image_url_check CHECK (image_url = '' OR (image_url ~ '^https://\S+$' AND length(image_url) <= 2000)),
	CONSTRAINT rewards_kind_check CHECK (kind IN ('physical', 'coupon', 'digital')),
	CONSTRAINT rewards_price_check CHECK (price > 0),
	CONSTRAINT rewards_stock_check CHECK (stock >= 0),
	CONSTRAINT rewards_per_member_limit_check CHECK (per_member_limit > 0),
	CONSTRAINT rewards_window_check CHECK (available_from < available_until)
);

CREATE INDEX rewards_created_idx ON rewards (tenant_id, created_at DESC, id DESC);

-- The orders members place. Coins are what the member paid (the price at
-- the time). The redemption transaction debited the wallet; a cancelled or
-- rejected order carries the transaction that refunded it.
CREATE TABLE orders (
	tenant_id        uuid        NOT NULL,
	id               uuid        NOT NULL,
	reward_id        uuid        NOT NULL,
	member_id        uuid        NOT NULL,
	coins            bigint      NOT NULL,
	status           text        NOT NULL DEFAULT 'pending',
	shipping_address jsonb,
	code_id          uuid,
	redemption_id    uuid        NOT NULL,
	refund_id        uuid,
	note             text        NOT NULL DEFAULT '',
	handled_by       text        NOT NULL DEFAULT '',
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now(),
	fulfilled_at     timestamptz,
	refunded_at      timestamptz,
	CONSTRAINT orders_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT orders_reward_fkey FOREIGN KEY (tenant_id, reward_id) REFERENCES rewards (tenant_id, id),
	CONSTRAINT orders_member_fkey FOREIGN KEY (tenant_id, member_id) REFERENCES users (tenant_id, id),
	CONSTRAINT orders_redemption_fkey FOREIGN KEY (tenant_id, redemption_id) REFERENCES coin_transactions (tenant_id, id),
	CONSTRAINT orders_refund_fkey FOREIGN KEY (tenant_id, refund_id) REFERENCES coin_transactions (tenant_id, id),
	-- One redemption pays for one order.
	CONSTRAINT orders_redemption_key UNIQUE (tenant_id, redemption_id),
	CONSTRAINT orders_coins_check CHECK (coins > 0),
	CONSTRAINT orders_status_check CHECK (status IN ('pending', 'fulfilled', 'cancelled', 'rejected')),
	CONSTRAINT orders_fulfilled_check CHECK ((status = 'fulfilled') = (fulfilled_at IS NOT NULL)),
	CONSTRAINT orders_refund_check CHECK ((status IN ('cancelled', 'rejected')) = (refund_id IS NOT NULL AND refunded_at IS NOT NULL)),
	CONSTRAINT orders_shipping_address_check CHECK (shipping_address IS NULL OR jsonb_typeof(shipping_address) = 'object'),
	CONSTRAINT orders_note_check CHECK (length(note) <= 1000)
);

CREATE INDEX orders_created_idx ON orders (tenant_id, created_at DESC, id DESC);
CREATE INDEX orders_member_idx ON orders (tenant_id, member_id, created_at DESC, id DESC);
CREATE INDEX orders_status_idx ON orders (tenant_id, status, created_at DESC, id DESC);
-- The per-member limit counts a member's live orders of a reward.
CREATE INDEX orders_reward_member_idx ON orders (tenant_id, reward_id, member_id) WHERE status IN ('pending', 'fulfilled');

-- The coupon codes of coupon rewards. A code with no order is free; an
-- order takes one (FOR UPDATE SKIP LOCKED) and holds it.
CREATE TABLE reward_codes (
	tenant_id  uuid        NOT NULL,
	reward_id  uuid        NOT NULL,
	id         uuid        NOT NULL,
	code       text        NOT NULL,
	order_id   uuid,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT reward_codes_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT reward_codes_reward_fkey FOREIGN KEY (tenant_id, reward_id) REFERENCES rewards (tenant_id, id),
	CONSTRAINT reward_codes_order_fkey FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
	CONSTRAINT reward_codes_code_key UNIQUE (tenant_id, reward_id, code),
	-- A code serves at most one order, an order has at most one code.
	CONSTRAINT reward_codes_order_key UNIQUE (tenant_id, order_id),
	CONSTRAINT reward_codes_code_check CHECK (length(code) BETWEEN 1 AND 200)
);

CREATE INDEX reward_codes_free_idx ON reward_codes (tenant_id, reward_id, created_at, id) WHERE order_id IS NULL;

ALTER TABLE orders ADD CONSTRAINT orders_code_fkey FOREIGN KEY (tenant_id, code_id) REFERENCES reward_codes (tenant_id, id);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['rewards', 'orders', 'reward_codes']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
	END LOOP;
END
$$;

-- Rewards are deactivated, never deleted (orders refer to them); orders
-- are history; a code stays once uploaded (it may have been handed out).
GRANT SELECT, INSERT, UPDATE ON rewards, orders, reward_codes TO guildhall_app;
