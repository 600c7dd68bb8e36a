-- The tenant registry. These are platform tables: they describe tenants and
-- are read before any tenant is known (to resolve the tenant of a request), so
-- they carry no row-level security. They hold nothing private to a tenant:
-- names, branding and domains are shown to anyone who visits the tenant.
CREATE TABLE tenants (
	id            uuid        NOT NULL,
	slug          text        NOT NULL,
	name          text        NOT NULL,
	kind          text        NOT NULL,
	time_zone     text        NOT NULL,
	currency      text        NOT NULL,
	primary_color text        NOT NULL DEFAULT '#3b5bdb',
	accent_color  text        NOT NULL DEFAULT '#f59f00',
	logo_url      text        NOT NULL DEFAULT '',
	plugins       text[]      NOT NULL DEFAULT '{}',
	status        text        NOT NULL DEFAULT 'active',
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT tenants_pkey PRIMARY KEY (id),
	CONSTRAINT tenants_slug_key UNIQUE (slug),
	CONSTRAINT tenants_slug_check CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
	CONSTRAINT tenants_name_check CHECK (length(name) BETWEEN 1 AND 100),
	CONSTRAINT tenants_kind_check CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
	CONSTRAINT tenants_time_zone_check CHECK (length(time_zone) BETWEEN 1 AND 64),
	CONSTRAINT tenants_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
	CONSTRAINT tenants_primary_color_check CHECK (primary_color ~ '^#[0-9a-f]{6}$'),
	CONSTRAINT tenants_accent_color_check CHECK (accent_color ~ '^#[0-9a-f]{6}$'),
	CONSTRAINT tenants_logo_url_check CHECK (logo_url = '' OR logo_url ~ '^https?://'),
	CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended'))
);

-- Custom domains. A domain belongs to one tenant across the whole platform,
-- which is why this index is global rather than led by tenant_id.
CREATE TABLE tenant_domains (
	domain     text        NOT NULL,
	tenant_id  uuid        NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT tenant_domains_pkey PRIMARY KEY (domain),
	CONSTRAINT tenant_domains_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT tenant_domains_domain_check CHECK (domain ~ '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$')
);

CREATE INDEX tenant_domains_tenant_id_idx ON tenant_domains (tenant_id);

GRANT SELECT, INSERT, UPDATE ON tenants TO guildhall_app;
GRANT SELECT, INSERT, DELETE ON tenant_domains TO guildhall_app;

-- Every change to the registry tells each server instance to reload its
-- snapshot of it. The notification is delivered when the transaction commits.
CREATE FUNCTION tenants_notify_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM pg_notify('guildhall_tenants_changed', '');
	RETURN NULL;
END
$$;

CREATE TRIGGER tenants_notify_changed
	AFTER INSERT OR UPDATE OR DELETE ON tenants
	FOR EACH STATEMENT EXECUTE FUNCTION tenants_notify_changed();

CREATE TRIGGER tenant_domains_notify_changed
	AFTER INSERT OR UPDATE OR DELETE ON tenant_domains
	FOR EACH STATEMENT EXECUTE FUNCTION tenants_notify_changed();
