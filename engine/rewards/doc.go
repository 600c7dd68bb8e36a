// Package rewards is each tenant's reward catalog and the orders members
// place by redeeming coins: rewards with a coin price, stock (or
// unlimited), a per-member limit, an availability window and a kind —
// physical (shipped to an address), coupon (a code from an uploaded pool,
// one per order) or digital (nothing to ship). See docs/coins.md
// ("Rewards").
//
// Guarantees:
//
//   - A redemption is one tenant transaction: it locks the reward row,
//     checks that the reward is active, in its window, in stock and within
//     the member's limit, takes a coupon code, decrements the stock, debits
//     the wallet through the ledger and creates the order. Any failure
//     (insufficient funds, a frozen wallet, no stock, no code left) rolls
//     all of it back: nothing is written.
//   - Stock never goes below zero, under any concurrency: redemptions of a
//     reward queue on its row lock, the decrement is conditional, and a
//     CHECK constraint refuses a negative stock whatever the code does.
//     The per-member limit is decided under the same lock, so it holds
//     under concurrency too.
//   - A coupon code serves at most one order (taken with FOR UPDATE SKIP
//     LOCKED, and a unique constraint on the order it serves).
//   - A redemption debits exactly once: it carries an idempotency key
//     (scope ledger.Scope(ctx, "redeem")); a retried request answers the
//     same order, a concurrent duplicate waits for the first and answers
//     its order, and the same key with another request is refused
//     (ledger.ErrKeyReused). A wallet never goes below zero (the ledger's
//     CHECK), so concurrent redemptions of one member cannot overspend.
//   - Refunds are automatic: cancelling or rejecting an order reverses its
//     redemption transaction (ledger.ReverseTx) and puts the item back in
//     stock, in one transaction, once (the ledger reverses a transaction
//     at most once, and the actions carry idempotency keys).
//   - Every staff action (catalog changes, code uploads, fulfilment,
//     cancellation, rejection) and every redemption is written to the audit
//     log in the transaction of the change. Coupon codes are never logged.
//
// Fulfilment: digital and coupon orders are fulfilled when they are placed
// (a coupon order carries its code: once the member has seen it there is
// nothing left to deliver, and a code a member has seen never goes back to
// the pool for someone else). Physical orders are pending until staff
// fulfil (ship) them, or cancel or reject them with a refund. Only a
// pending order can be fulfilled, cancelled or rejected; any other
// transition is a conflict. Cancelled and rejected orders do not count
// toward the per-member limit.
//
// Lock order: the idempotency key, the order (staff actions), the reward,
// the coupon code, the wallet (in ledger.Post or ledger.ReverseTx).
package rewards
