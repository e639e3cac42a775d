// Package outreach holds the domain of an email campaign for an advocacy
// coalition: campaigns, contacts (partners and targets), suppressions,
// waves and their sends, deliveries and their attempts, replies,
// endorsements and letters. It imports only the standard library, so it
// reads without knowing bbolt, SMTP or IMAP; storage, sending and reading
// mail are adapters in sibling packages.
package outreach
