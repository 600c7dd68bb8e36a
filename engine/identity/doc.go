// Package identity knows who is calling: end users of a tenant (sign-up,
// sign-in by password or one-time code, TOTP, sessions and tokens, profile,
// account deletion), their memberships (roles, bans, invitations), API keys
// for integrators, platform admins, and the per-tenant request limits.
//
// Guarantees:
//
//   - Roles, bans, revoked sessions and revoked keys are never taken from a
//     token: Authenticate checks the current state through a cache that every
//     server instance invalidates on change (LISTEN/NOTIFY), so access is lost
//     within a second of the change, everywhere.
//   - Secrets are stored only as hashes (passwords: argon2id; codes: HMAC
//     under the server key; tokens and keys: SHA-256 of 256-bit randoms) or
//     sealed (TOTP secrets); a secret is shown once, when made.
//   - Unknown accounts and wrong secrets answer alike: the same error, the
//     same password-hashing work. Sign-up, code requests and password reset
//     answer the same whether an address has an account or not.
//   - One-time codes, MFA challenges and refresh tokens are single use;
//     failed attempts are counted in the database, so limits hold across
//     server instances. Reusing a refresh token revokes its session.
//   - Every sign-in (success and failure), MFA change, role change, ban and
//     API key change is written to the audit log in the same transaction.
//
// See docs/identity.md for the design.
package identity
