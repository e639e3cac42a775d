// Package smtpout is the sending edge: it submits one message at a time,
// each to one envelope recipient, to the configured SMTP server over a pool
// of persistent connections, built on github.com/wneessen/go-mail.
//
// Every Send ends in one of three outcomes, and the caller acts on it:
//
//   - Sent: the server replied 250 to the end of the data.
//   - Temporary: a 4xx reply, a lost connection, a timeout, a closed pool or
//     a cancelled context. Nothing is known to be wrong with the recipient;
//     the caller retries later with a backoff.
//   - Permanent: a 5xx reply, or a fault of the setup that retrying will not
//     cure. Result.NoSuchUser (5.1.x at RCPT or DATA) means the address is
//     bad and should be suppressed; Result.RelayFault (a failure while
//     setting up the session: certificate, STARTTLS missing, credentials)
//     means our relay configuration is wrong and sending should stop.
//
// Connections go stale: servers close idle sessions, and go-mail reports a
// dead connection as a failure without an SMTP code, which its IsTemp
// calls permanent. Send never does: a connection lost before the message
// was complete (or a 421 reply) is redialled once and the message retried;
// a second loss is Temporary. Once the end of the data is sent the message
// may have been accepted, so Send does not retry then, and reports
// Temporary.
//
// Rate limits (golang.org/x/time/rate) space messages evenly, over all
// connections and per recipient domain; waiting for them and for a free
// connection is bounded by the context, which also aborts a transaction in
// progress.
package smtpout
