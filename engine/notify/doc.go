// Package notify delivers messages to people outside Guildhall: email (sign-in
// and verification codes, password resets, invitations, digests) and SMS
// (one-time codes). Services depend on the two small interfaces Mailer and
// Texter; cmd picks the implementation: SMTP and HTTPGateway in production,
// Log in development, Outbox in tests.
//
// Every implementation guarantees:
//
//   - A message is checked before anything leaves the process, identically
//     in every implementation. A recipient that is not one bare email
//     address (which net/mail reads back unchanged), or not a phone number
//     in E.164 form (^\+[1-9]\d{6,14}$), fails with ErrInvalidRecipient
//     (engine.CodeInvalid); a Subject or FromName holding control characters
//     or invalid UTF-8 fails with ErrUnsafeHeader. In both cases nothing is
//     sent, logged or recorded, so no header can be injected.
//   - A nil error means the server accepted the message (SMTP's reply to
//     DATA, a 2xx from the gateway), not that it reached the person. A
//     connection lost between sending a message and reading the answer is
//     an error although the message may have gone out, so a caller that
//     retries may send it twice; one-time codes and invitations tolerate
//     that.
//   - Sends honour ctx: SMTP and HTTPGateway return promptly once ctx is
//     done or their configured timeout has passed, whatever the server does,
//     and the error then wraps ctx's error.
//   - SMTP sends credentials only over verified TLS, or to a loopback host:
//     with "starttls" it fails rather than fall back when the server does
//     not offer STARTTLS, and "none" is refused for any other host.
//     HTTPGateway likewise only uses plain HTTP to a loopback host.
//   - Errors never contain the SMTP password or the gateway token, and never
//     a message's text. Log writes the text on purpose, for development only.
//   - Every type is safe for concurrent use.
package notify
