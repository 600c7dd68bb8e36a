// Package ledger is the double-entry coin ledger of every tenant: wallets
// and system accounts, transactions whose entries sum to zero, wallet
// history, staff grants, deductions, reversals and freezes, coin expiry and
// the books' verification. See docs/coins.md.
//
// Guarantees:
//
//   - Entries are append-only (the application role cannot change or
//     delete them) and every transaction balances (a deferred constraint
//     trigger refuses one that does not).
//   - A wallet's balance, kept on its row in the same database transaction
//     as its entries, never goes negative: a CHECK constraint refuses it.
//   - Every write takes an idempotency key: the same key and request
//     answer the first result, the same key with another request is
//     refused, and concurrent duplicates wait for the first and replay it.
//   - Staff actions are written to the audit log in the same transaction.
package ledger
