// Package engine is the shared vocabulary of Guildhall: the error type and
// codes every service returns, and the request-scoped facts carried in a
// context (the tenant of the request, the request ID).
//
// It imports nothing from the rest of Guildhall. Capabilities live in its
// subpackages (db, api, plugin, audit, ...); tenants, plugins, console and web
// build on them, never the other way round.
package engine
