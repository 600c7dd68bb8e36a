package migrations_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
)

// platformTables hold no tenant's private rows and are read before a tenant
// is known. Every other table must be a tenant table. Each entry says why.
var platformTables = map[string]string{
	"schema_migrations":       "the migration runner's own record",
	"tenants":                 "the tenant registry itself: resolving a request's tenant reads it before any tenant is set",
	"tenant_domains":          "the global host → tenant index; a domain is public (it is in DNS) and unique across tenants",
	"platform_admins":         "platform admins are not users of any tenant",
	"platform_sessions":       "console sessions of platform admins",
	"platform_mfa_challenges": "platform admins' pending second factors",
	// River's tables (engine/jobs, created by rivermigrate): the job queue
	// serves every tenant, and no tenant's users read it. A job's args carry
	// its tenant and its worker acts through the tenant transaction.
	"river_migration":    "River's record of its own migrations",
	"river_job":          "River's job queue, shared by all tenants; each job's args carry its tenant",
	"river_leader":       "River's leader election among server instances",
	"river_queue":        "River's queue registry (pauses, settings)",
	"river_notification": "River's notification outbox (created by its migrations; PostgreSQL uses LISTEN/NOTIFY)",
}

// sequences may exist only here, each with why: public identifiers are
// random UUIDs.
var sequences = map[string]string{
	"river_job_id_seq":          "River's job IDs: internal to the queue, seen only in the platform console",
	"river_notification_id_seq": "River's notification outbox IDs, internal to River",
}

// idColumns are identifier columns that may be other than UUIDs, each with
// why.
var idColumns = map[string]string{
	"river_job.id":           "River's job ID (bigint from river_job_id_seq)",
	"river_leader.leader_id": "River's client ID (text chosen by River)",
	"river_notification.id":  "River's outbox ID (bigint from river_notification_id_seq)",
}

// appendOnly tables may be inserted into and read by the application role,
// never updated or deleted.
var appendOnly = []string{"audit_events", "coin_transactions", "coin_entries"}

func strs(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), sql, args...)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	return out
}

// tenantTables lists the tables of the public schema with a tenant_id
// column, except platform tables.
func tenantTables(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	var out []string
	for _, tbl := range strs(t, pool, `
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
	AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
ORDER BY 1`) {
		if _, ok := platformTables[tbl]; !ok {
			out = append(out, tbl)
		}
	}
	return out
}

// schemaProblems reads the catalogs of the database of pool (as the owner)
// and returns every breach of the isolation rules.
func schemaProblems(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	var problems []string
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	tables := tenantTables(t, pool)

	// EveryTableIsATenantTableOrAllowListed
	{
		for _, tbl := range strs(t, pool, `
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
	AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`) {
			if _, ok := platformTables[tbl]; !ok {
				errorf("table %s has no tenant_id and is not an allow-listed platform table", tbl)
			}
		}
	}

	// TenantTablesForceRowLevelSecurity
	{
		for _, tbl := range tables {
			var enabled, forced bool
			if err := pool.QueryRow(t.Context(), `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass`, tbl).Scan(&enabled, &forced); err != nil {
				t.Fatal(err)
			}
			if !enabled || !forced {
				errorf("table %s: row level security enabled=%v forced=%v, want both", tbl, enabled, forced)
			}
		}
	}

	// TenantTablesHaveTenantPolicies
	{
		for _, tbl := range tables {
			rows, err := pool.Query(t.Context(), `SELECT policyname, permissive, cmd, coalesce(qual, ''), coalesce(with_check, '') FROM pg_policies WHERE schemaname = 'public' AND tablename = $1`, tbl)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
				var name, permissive, cmd, qual, check string
				if err := rows.Scan(&name, &permissive, &cmd, &qual, &check); err != nil {
					t.Fatal(err)
				}
				if cmd != "INSERT" && !strings.Contains(qual, "current_tenant_id()") {
					errorf("table %s policy %s: USING %q does not compare with current_tenant_id()", tbl, name, qual)
				}
				if (cmd == "ALL" || cmd == "INSERT" || cmd == "UPDATE") && !strings.Contains(check, "current_tenant_id()") && !strings.Contains(qual, "current_tenant_id()") {
					errorf("table %s policy %s: WITH CHECK %q does not compare with current_tenant_id()", tbl, name, check)
				}
			}
			if n == 0 {
				errorf("table %s has no policy", tbl)
			}
		}
	}

	// KeysIncludeTenantID
	{
		rows, err := pool.Query(t.Context(), `
SELECT c.conname, c.conrelid::regclass::text, c.contype,
	(SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)
FROM pg_constraint c
WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f', 'x')`)
		if err != nil {
			t.Fatal(err)
		}
		type con struct {
			name, table, kind string
			cols              []string
		}
		cons, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (con, error) {
			var c con
			return c, r.Scan(&c.name, &c.table, &c.kind, &c.cols)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cons {
			if !slices.Contains(tables, c.table) {
				continue
			}
			switch {
			case c.kind == "p" && (len(c.cols) == 0 || c.cols[0] != "tenant_id"):
				errorf("table %s: primary key %s is %v, want tenant_id first", c.table, c.name, c.cols)
			case !slices.Contains(c.cols, "tenant_id"):
				errorf("table %s: constraint %s on %v does not include tenant_id", c.table, c.name, c.cols)
			}
		}
		// Unique indexes that are not constraints.
		for _, idx := range strs(t, pool, `
SELECT i.indexrelid::regclass::text FROM pg_index i
WHERE i.indisunique AND i.indrelid = ANY($1::regclass[])
	AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attname = 'tenant_id' AND a.attnum = ANY(i.indkey))`, tables) {
			errorf("unique index %s does not include tenant_id", idx)
		}
	}

	// ViewsAreSecurityInvoker
	{
		for _, v := range strs(t, pool, `
SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'v'
	AND NOT coalesce('security_invoker=true' = ANY(reloptions), false)`) {
			errorf("view %s lacks security_invoker: it would read with its owner's rights, past row-level security", v)
		}
		for _, v := range strs(t, pool, `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'm'`) {
			errorf("materialized view %s: row-level security cannot apply to it", v)
		}
	}

	// IdentifiersAreRandom
	{
		for _, s := range strs(t, pool, `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'S'`) {
			if _, ok := sequences[s]; !ok {
				errorf("sequence %s: public identifiers are random UUIDs, never sequences", s)
			}
		}
		for _, col := range strs(t, pool, `
SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
	AND (a.attname = 'id' OR a.attname LIKE '%\_id') AND a.atttypid <> 'uuid'::regtype`) {
			if _, ok := idColumns[col]; !ok {
				errorf("column %s: identifiers are UUIDs", col)
			}
		}
	}

	// AppRoleIsUnprivileged
	{
		var super, bypass, createRole, createDB bool
		if err := pool.QueryRow(t.Context(), `SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1`, db.AppRole).
			Scan(&super, &bypass, &createRole, &createDB); err != nil {
			t.Fatal(err)
		}
		if super || bypass || createRole || createDB {
			errorf("%s: superuser=%v bypassrls=%v createrole=%v createdb=%v, want all false", db.AppRole, super, bypass, createRole, createDB)
		}
		for _, o := range strs(t, pool, `
SELECT 'relation ' || relname FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE proowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
UNION ALL SELECT 'type ' || typname FROM pg_type WHERE typowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`, db.AppRole) {
			errorf("%s owns %s", db.AppRole, o)
		}
		for _, s := range strs(t, pool, `
SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%'
	AND has_schema_privilege($1, oid, 'CREATE')`, db.AppRole) {
			errorf("%s may create objects in schema %s", db.AppRole, s)
		}
		var dbCreate, dbTemp bool
		if err := pool.QueryRow(t.Context(), `SELECT has_database_privilege($1, current_database(), 'CREATE'), has_database_privilege($1, current_database(), 'TEMPORARY')`, db.AppRole).Scan(&dbCreate, &dbTemp); err != nil {
			t.Fatal(err)
		}
		if dbCreate || dbTemp {
			errorf("%s: CREATE on database=%v TEMPORARY=%v, want false", db.AppRole, dbCreate, dbTemp)
		}
		// TRUNCATE, TRIGGER and REFERENCES are not bound by row-level
		// security, and DML is all the server needs.
		for _, p := range strs(t, pool, `
SELECT c.relname || ' ' || p.priv FROM pg_class c, unnest(ARRAY['TRUNCATE', 'TRIGGER', 'REFERENCES']) p(priv)
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND has_table_privilege($1, c.oid, p.priv)`, db.AppRole) {
			errorf("%s has %s", db.AppRole, p)
		}
		for _, tbl := range appendOnly {
			var upd, del bool
			if err := pool.QueryRow(t.Context(), `SELECT has_table_privilege($1, $2, 'UPDATE'), has_table_privilege($1, $2, 'DELETE')`, db.AppRole, tbl).Scan(&upd, &del); err != nil {
				t.Fatal(err)
			}
			if upd || del {
				errorf("%s may UPDATE (%v) or DELETE (%v) the append-only %s", db.AppRole, upd, del, tbl)
			}
		}
		for _, f := range strs(t, pool, `SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prosecdef`) {
			errorf("function %s is SECURITY DEFINER: it would run past row-level security", f)
		}
	}

	return problems
}

func TestSchema(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	if len(tenantTables(t, d.Owner)) == 0 {
		t.Fatal("no tenant tables found")
	}
	for _, p := range schemaProblems(t, d.Owner) {
		t.Error(p)
	}
}

// TestSchemaProblems proves the schema test fails: each statement breaks one
// rule, and its problem must be reported.
func TestSchemaProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{"NoRLS", `CREATE TABLE bad (tenant_id uuid NOT NULL REFERENCES tenants (id), id uuid NOT NULL, PRIMARY KEY (tenant_id, id))`, "row level security enabled=false"},
		{"NotForced", `CREATE TABLE bad (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
			ALTER TABLE bad ENABLE ROW LEVEL SECURITY;
			CREATE POLICY p ON bad USING (tenant_id = current_tenant_id())`, "forced=false"},
		{"NoPolicy", `CREATE TABLE bad (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
			ALTER TABLE bad ENABLE ROW LEVEL SECURITY; ALTER TABLE bad FORCE ROW LEVEL SECURITY`, "has no policy"},
		{"OpenPolicy", `CREATE TABLE bad (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
			ALTER TABLE bad ENABLE ROW LEVEL SECURITY; ALTER TABLE bad FORCE ROW LEVEL SECURITY;
			CREATE POLICY p ON bad USING (true)`, "does not compare with current_tenant_id()"},
		{"PrimaryKeyWithoutTenant", `CREATE TABLE bad (tenant_id uuid NOT NULL, id uuid PRIMARY KEY);
			ALTER TABLE bad ENABLE ROW LEVEL SECURITY; ALTER TABLE bad FORCE ROW LEVEL SECURITY;
			CREATE POLICY p ON bad USING (tenant_id = current_tenant_id())`, "want tenant_id first"},
		{"UniqueWithoutTenant", `CREATE TABLE bad (tenant_id uuid NOT NULL, id uuid NOT NULL, code text, PRIMARY KEY (tenant_id, id));
			CREATE UNIQUE INDEX bad_code ON bad (code);
			ALTER TABLE bad ENABLE ROW LEVEL SECURITY; ALTER TABLE bad FORCE ROW LEVEL SECURITY;
			CREATE POLICY p ON bad USING (tenant_id = current_tenant_id())`, "unique index bad_code"},
		{"ForeignKeyWithoutTenant", `CREATE TABLE bad (tenant_id uuid NOT NULL, id uuid NOT NULL, other uuid, PRIMARY KEY (tenant_id, id),
				CONSTRAINT bad_other_fkey FOREIGN KEY (other) REFERENCES tenants (id));
			ALTER TABLE bad ENABLE ROW LEVEL SECURITY; ALTER TABLE bad FORCE ROW LEVEL SECURITY;
			CREATE POLICY p ON bad USING (tenant_id = current_tenant_id())`, "bad_other_fkey"},
		{"TableWithoutTenant", `CREATE TABLE loose (id uuid PRIMARY KEY)`, "table loose has no tenant_id"},
		{"ViewWithoutInvoker", `CREATE VIEW bad_view AS SELECT id FROM audit_events`, "view bad_view lacks security_invoker"},
		{"Sequence", `CREATE SEQUENCE bad_seq`, "sequence bad_seq"},
		{"SerialID", `CREATE TABLE tenant_things (tenant_id uuid NOT NULL, id bigint NOT NULL, PRIMARY KEY (tenant_id, id));
			ALTER TABLE tenant_things ENABLE ROW LEVEL SECURITY; ALTER TABLE tenant_things FORCE ROW LEVEL SECURITY;
			CREATE POLICY p ON tenant_things USING (tenant_id = current_tenant_id())`, "column tenant_things.id"},
		{"Truncate", `GRANT TRUNCATE ON audit_events TO guildhall_app`, "has audit_events TRUNCATE"},
		{"AppendOnlyDelete", `GRANT DELETE ON audit_events TO guildhall_app`, "DELETE (true) the append-only audit_events"},
		{"SecurityDefiner", `CREATE FUNCTION peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER RETURN (SELECT count(*) FROM audit_events)`, "function peek is SECURITY DEFINER"},
		{"AppOwnsTable", `CREATE TABLE owned (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
			ALTER TABLE owned ENABLE ROW LEVEL SECURITY; ALTER TABLE owned FORCE ROW LEVEL SECURITY;
			CREATE POLICY p ON owned USING (tenant_id = current_tenant_id());
			ALTER TABLE owned OWNER TO guildhall_app`, "guildhall_app owns relation owned"},
		{"AppMayCreate", `GRANT CREATE ON SCHEMA public TO guildhall_app`, "may create objects in schema public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := dbtest.NewDatabase(t)
			// ALTER ... OWNER TO needs membership of the new owner: use the
			// superuser for that one statement list.
			admin := dbtest.AdminConfig(t)
			admin.ConnConfig.Database = d.Name
			conn, err := pgx.ConnectConfig(t.Context(), admin.ConnConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(t.Context())
			if _, err := conn.Exec(t.Context(), "SET ROLE "+db.OwnerRole+"; "+tt.sql); err != nil {
				// Only the ownership change needs the superuser.
				if _, err := conn.Exec(t.Context(), "RESET ROLE; "+tt.sql); err != nil {
					t.Fatalf("break the schema: %v", err)
				}
			}
			problems := schemaProblems(t, d.Owner)
			found := false
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("schemaProblems() = %q, want one containing %q", problems, tt.want)
			}
		})
	}
}
