-- The application role owns nothing and may create nothing: it gets USAGE on
-- the schema and, table by table, only the DML it needs. No one but the owner
-- may create objects in the schema or temporary tables in this database.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO guildhall_app;

DO $$
BEGIN
	EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;

-- The tenant of the current transaction, or NULL when none is set. An empty
-- value (what a connection reports after an earlier transaction set the tenant
-- locally) is "no tenant" too, so policies built on it fail closed: zero rows,
-- never an error, never every row. A plain SQL function, so the planner
-- inlines it and can use it in index conditions.
CREATE FUNCTION current_tenant_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
RETURN NULLIF(current_setting('app.tenant_id', true), '')::uuid;

REVOKE ALL ON FUNCTION current_tenant_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION current_tenant_id() TO guildhall_app;
