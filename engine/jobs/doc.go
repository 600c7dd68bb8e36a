// Package jobs runs background work on River (github.com/riverqueue/river),
// in the same PostgreSQL database as everything else.
//
// Guarantees:
//
//   - A job is enqueued in the transaction of the change that causes it
//     (Runner.InsertTx on the tenant transaction): if that transaction rolls
//     back, the job never existed; once it commits, the job runs (at least
//     once: River retries a failing job with backoff, then discards it for the
//     console to retry).
//   - Job arguments carry the tenant (a "tenant_id" field), and every worker
//     does its work through the services, in the tenant transaction of
//     engine/db (engine.WithTenant, then InTenant): row-level security holds
//     for jobs as for requests. River's own tables hold no tenant rows.
//   - Each tenant's periodic work — daily statistics, coin expiry, the weekly
//     bonus, idempotency key cleanup — runs once per period, however many
//     servers run: River elects one leader, whose periodic dispatch job (every
//     DispatchEvery) enqueues what has come due in each tenant's time zone,
//     and each job is unique per kind, tenant and period (its arguments carry
//     the tenant-local date; River refuses a second job with the same
//     arguments while the first exists, in any state). Work that came due
//     while no server ran is enqueued by the first dispatch within a day of
//     its due time (23 or 25 hours across a DST change); after that, the
//     dispatcher names the next period.
//   - A failed attempt is logged once, by the error handler, with the job and
//     its tenant.
//
// The package also applies River's migrations and grants the application
// role what River's client needs (Migrate, as the owner role), and lists,
// counts and retries jobs for the platform console.
package jobs
