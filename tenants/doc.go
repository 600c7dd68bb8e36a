// Package tenants is the tenant registry: creating and updating tenants
// (slug, name, kind, time zone, currency, branding, custom domains, enabled
// plugins, status), and resolving the tenant of an HTTP request from its
// host or its /t/{slug}/ path prefix.
//
// Guarantees: every change is validated as a whole (all problems reported at
// once) and written with its audit event in one transaction, or not at all.
// Every server instance keeps an in-memory snapshot of the registry that is
// reloaded when any instance changes it (LISTEN/NOTIFY), so resolving a
// request costs no database round trip; a suspended tenant stops answering
// on every instance as soon as the change commits.
package tenants
