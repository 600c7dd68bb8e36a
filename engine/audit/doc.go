// Package audit records who did what to a tenant. The log is append-only:
// the application role can insert and read audit events, never change or
// delete them, and every event is written in the same transaction as the
// change it describes, so a change is never without its record.
package audit
