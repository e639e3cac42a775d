// Package mailreply reads the replies partners send to a campaign: Parse
// turns a raw RFC 5322 message into a Message (headers, the body decoded to
// UTF-8, the reply's own new text without quotes and signatures, delivery
// status notifications, signs of automated mail), and Classify decides what
// the reply says (endorse, decline, unsubscribe, auto-reply, bounce, other).
//
// The classifier is deliberately conservative. Printing an organisation's
// name on a letter to a head of state when it did not endorse is the worst
// mistake the project can make, so Classify answers ClassEndorse only for
// first-person commitments it recognises in the reply's new text, marks a
// result Sure only when nothing else in the text (a negation, a condition, a
// question, a hedge, an unsubscribe request, an out-of-office notice) pulls
// the other way, and sends everything it is not sure of to human review.
// Automated mail and bounces are never endorsements.
//
// The package is pure: it reads only the io.Reader it is given and keeps no
// state between calls, so it is safe for concurrent use.
package mailreply
