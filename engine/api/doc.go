// Package api assembles Guildhall's HTTP surface: the huma REST API under
// /api/v1 with its OpenAPI document and docs page, the error mapping that
// turns every failure into an RFC 9457 problem with a safe message, the
// middleware every request passes through (request ID, panic recovery,
// access log, metrics, security headers, body limits, timeouts, trusted
// proxies), health and readiness endpoints, and graceful serving.
//
// Guarantees: an API error body never contains internal error text; an
// expected failure (an engine.Error) never answers 5xx; a panic answers a
// generic 500 and is logged with its stack; every API operation declares who
// may call it (Declare), and a tenant-scoped operation answers 404 when the
// request names no tenant.
package api
