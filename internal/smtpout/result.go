package smtpout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Outcome is the verdict on one send. The zero value is not an outcome.
type Outcome int

const (
	Sent      Outcome = iota + 1 // the server accepted the message (250 after DATA)
	Temporary                    // try again later: 4xx reply, network failure, timeout
	Permanent                    // do not retry as is: 5xx reply, or a TLS or credentials fault
)

func (o Outcome) String() string {
	switch o {
	case Sent:
		return "sent"
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Step names the part of the exchange a Result comes from.
type Step string

const (
	StepConnect Step = "connect" // dial, greeting, EHLO, STARTTLS, AUTH
	StepMail    Step = "mail"    // MAIL FROM
	StepRcpt    Step = "rcpt"    // RCPT TO
	StepData    Step = "data"    // DATA, the message, and the reply to its end
)

// Result reports one Send.
type Result struct {
	Outcome  Outcome
	Code     int           // SMTP reply code, 0 when there was none (network failure)
	Enhanced string        // enhanced status code (RFC 3463), e.g. "5.1.1"; "" if none
	Response string        // the server's text, e.g. "2.0.0 OK: queued as 123", or the error
	Server   string        // host:port
	Step     Step          // where the exchange ended
	Duration time.Duration // including waits for the rate limits and a free connection
	Err      error         // nil when Sent
	// Maybe is set on a Temporary failure without a reply after the whole
	// message was sent (the connection was lost or timed out before the
	// server's verdict): the server may hold the message, so a retry may
	// deliver it twice.
	Maybe bool
}

// NoSuchUser reports a permanent failure about the recipient's address
// (RFC 3463 class 5.1.x: 5.1.1 no such mailbox, 5.1.2 no such domain,
// 5.1.10 null MX, ...), the signal to suppress the address. Replies to
// MAIL FROM and 5.1.7/5.1.8, which are about the sender, do not count.
func (r Result) NoSuchUser() bool {
	if r.Outcome != Permanent || r.Step == StepMail || r.Step == StepConnect {
		return false
	}
	if !strings.HasPrefix(r.Enhanced, "5.1.") {
		return false
	}
	return r.Enhanced != "5.1.7" && r.Enhanced != "5.1.8"
}

// RelayFault reports a permanent failure to set up the session (TLS
// verification, STARTTLS missing, credentials refused): no recipient is at
// fault and every message will fail the same way, so the caller should stop
// sending and alert a person instead of recording a bounce.
func (r Result) RelayFault() bool { return r.Outcome == Permanent && r.Step == StepConnect }

var enhancedRE = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\b`)

// replyOf extracts the SMTP reply from err, if the server sent one.
func replyOf(err error) (code int, enhanced, text string, ok bool) {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return 0, "", "", false
	}
	return te.Code, enhancedRE.FindString(te.Msg), te.Msg, true
}

// connLost reports whether err means the connection is gone or unusable
// without a reply saying why: network errors, timeouts, EOF, and the
// cancellation of ctx (which closes the connection).
func connLost(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// classify turns the error of a step into a Result. A reply decides by its
// class (4xx temporary, 5xx permanent); a lost connection is temporary; any
// other failure (TLS verification, missing STARTTLS, an AUTH mechanism the
// server lacks) is a deterministic fault of the setup and permanent.
func classify(step Step, err error) Result {
	r := Result{Step: step, Err: err, Response: err.Error()}
	if code, enh, text, ok := replyOf(err); ok {
		r.Code, r.Enhanced, r.Response = code, enh, text
		if code >= 400 && code < 500 {
			r.Outcome = Temporary
		} else {
			r.Outcome = Permanent
		}
		return r
	}
	if connLost(err) {
		r.Outcome = Temporary
		return r
	}
	r.Outcome = Permanent
	return r
}

// broken reports whether the connection that produced r must be discarded:
// it was lost, or the server announced it is closing it (421, RFC 5321
// §3.8).
func (r Result) broken() bool {
	return r.Outcome != Sent && (r.Code == 0 || r.Code == 421)
}
