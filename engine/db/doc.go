// Package db is the only door to tenant rows.
//
// Guarantees:
//
//   - InTenant runs a callback in a transaction that first sets the tenant
//     from the context, transaction-locally (SET LOCAL app.tenant_id, the
//     statement form of set_config(..., true), sent with the BEGIN in one
//     round trip). The setting ends with that transaction, so a
//     pooled connection never carries a tenant into the next one. Row-level security, forced on every tenant table, then
//     shows and accepts only that tenant's rows, whatever SQL the callback runs.
//   - A context without a tenant is an error, never "all tenants".
//   - InPlatform runs a callback with no tenant set: registry tables are
//     readable, every tenant table reads as empty and rejects writes. It is the
//     named path for work that spans tenants.
//   - Both retry the whole callback a bounded number of times on serialization
//     failure or deadlock, so a callback must do nothing outside its
//     transaction.
//
// The package also applies the embedded migrations (Migrate), opens the pool
// with the start-up checks the server relies on (Open, CheckServer,
// CheckAppRole), and delivers LISTEN/NOTIFY notifications (Listener).
package db
