// Package rules decides what members earn: each tenant's rules (event type
// → coins, an optional CEL condition, caps, abuse limits, a reversal
// policy), its coin settings, and the award of events through the one-call
// SQL function coin_award. It also runs dry runs (the real award, rolled
// back), backtests (the last 30 days replayed through an edited rule set),
// and reversals of awards whose cause was undone. See docs/coins.md.
//
// Guarantees: an event is awarded at most once per idempotency key; no cap
// is ever passed (the database decides caps under the member's wallet
// lock); every decision is recorded with what was asked, what was granted
// and why. Rule sets are cached per tenant and reloaded on every server
// when rules or settings change (LISTEN/NOTIFY).
package rules
