// Package social is the reward social network: a tenant of kind social is
// a community where members post (text and images), like, comment and
// reply, follow each other, read a community and a following feed, report
// content, and earn coins for it through the rules engine; moderators
// hide, restore and remove content and warn and suspend members. The
// plugin registers its REST operations, coin event types and daily
// cleanup job through engine/plugin; the web app and console call Service.
// See docs/social.md.
//
// Guarantees:
//
//   - Every change commits with what it causes, in one tenant
//     transaction: counters, badges, coin awards (rules.AwardTx) and
//     reversals (rules.ReverseRefTx), notifications (Notifier.AddTx) and,
//     for moderation, the audit record. A failure rolls all of it back.
//   - Counts are exact under concurrency: likes, comments and moderation of
//     one post take the post's row lock first, and counters change by
//     conditional updates under CHECK (count >= 0); one like per member and
//     post is the primary key.
//   - Coins: post.created (ref "post:{id}", key "post.created:{id}"),
//     like.received to the author — never for your own post, and only for
//     a member's first like of a post ever (ref "post:{id}/like:{member}",
//     key "like:{id}:{member}") — and comment.created (ref
//     "post:{id}/comment:{cid}", key "comment.created:{cid}"). Unliking
//     reverses its like; deleting or hiding a comment reverses the
//     comment; deleting or hiding a post reverses its whole tree (the post,
//     the likes it earned its author, the comments on it). Restoring hidden
//     content pays nothing again. Toggling a like cannot farm coins, and
//     the rules engine's caps hold.
//   - Text is stored as typed (normalised: trimmed, CR LF → LF, at most
//     two blank lines in a row; control and bidi-override characters
//     refused) and is never HTML. Segments splits it into text, mentions
//     and http(s) links only; renderers escape every piece (RenderHTML
//     does).
//   - Hidden and deleted content, and content of banned or deleted
//     members, is invisible to members; moderators see it in moderation
//     views (Post, Comment, Search, Reports).
//   - A feed page is one SQL statement on indexes leading with tenant_id,
//     sent with the tenant setting in one round trip.
//
// Lock order, for every write: the post row (lockPost), then a comment
// row, then social profiles (in member-ID order), then wallets (the
// rules engine's award and reversal), then inbox rows (notifications,
// stored last, sorted by member).
package social
