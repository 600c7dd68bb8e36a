// Package inbox is members' notifications: stored per member, numbered in
// commit order, pushed live over WebSocket to every server's connections,
// marked read, and summed up in a daily digest email. See
// docs/notifications.md.
//
// Guarantees:
//
//   - A notification exists only if the change that caused it commits:
//     AddTx runs in the caller's tenant transaction (a plugin's like), and
//     its announcement (pg_notify on the inbox channel) is delivered by
//     PostgreSQL on commit only. Nothing is pushed for a rollback.
//   - Seq numbers a member's notifications 1, 2, 3, … in commit order,
//     without gaps: AddTx takes the member's inbox row lock (inbox_members)
//     before numbering, so a higher seq always commits later, and a rolled
//     back or deduplicated AddTx uses no seq. Retention deletes old rows but
//     never reuses a seq.
//   - A DedupeKey makes a notification once-only per member, under any
//     concurrency (a unique index, checked under the same row lock).
//   - Delivery: a connection that resumes with after=<seq> receives every
//     stored notification with a higher seq, in order, then the live ones,
//     each exactly once: the hub registers the connection before reading
//     the backlog, holds live notifications while it reads, and drops
//     duplicates by seq. A gap in live seqs (a missed NOTIFY, a notification
//     too large to carry, a listener reconnect) makes the connection catch
//     up from the database. Committed notifications reach connected
//     members on every server (each runs a Hub on the LISTEN/NOTIFY
//     channel), typically within milliseconds.
//   - Isolation: every table is a tenant table under forced row-level
//     security; members read and mark only their own notifications (the
//     principal in ctx), and a hub routes by (tenant, member).
//   - Slow clients cannot hold the server's memory: each connection queues
//     at most HubConfig.SendQueue messages and writes within WriteTimeout,
//     else it is closed (1008) and the client resumes from its last seq.
//   - Digests: at most one email per member and tenant-local day, however
//     often the job runs (a claim committed before sending); a failed send
//     is released for the job's retry. A digest lists the unread
//     notifications newer than the previous digest, by seq.
//
// Lock order: a member's inbox_members row, then (for AddTx) the new
// notification row. AddTx holds the member's row lock until the caller's
// transaction ends: keep those transactions short.
package inbox
