-- The audit log: an append-only record of every administrative action on a
-- tenant. The application role may insert and read, never change or delete.
CREATE TABLE audit_events (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	occurred_at timestamptz NOT NULL DEFAULT now(),
	actor       text        NOT NULL,
	action      text        NOT NULL,
	target      text        NOT NULL DEFAULT '',
	details     jsonb       NOT NULL DEFAULT '{}',
	ip          inet,
	user_agent  text        NOT NULL DEFAULT '',
	CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, id),
	CONSTRAINT audit_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
	CONSTRAINT audit_events_action_check CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
	CONSTRAINT audit_events_actor_check CHECK (length(actor) BETWEEN 1 AND 200)
);

CREATE INDEX audit_events_tenant_id_occurred_at_idx ON audit_events (tenant_id, occurred_at DESC, id DESC);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
	USING (tenant_id = current_tenant_id())
	WITH CHECK (tenant_id = current_tenant_id());

GRANT SELECT, INSERT ON audit_events TO guildhall_app;
