package outreach

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status at the API's edge.
const (
	ECONFLICT     = "conflict"     // the object exists or is in the wrong state
	EINTERNAL     = "internal"     // a bug or an I/O failure
	EINVALID      = "invalid"      // bad input; Message says what and where
	ENOTFOUND     = "not_found"    // no such object, or out of the caller's scope
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials, not enough rights
	EUNAVAILABLE  = "unavailable"  // a dependency (SMTP, IMAP) cannot be reached
	ETOOMANY      = "too_many"     // rate limited; retry later
)

// Error is an error a person can act on. Field names the input at fault
// (a config key, a CSV column, a form field) when there is one.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error about one field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message meant for a person: the *Error's text,
// or a generic message for internal errors, whose details belong in logs.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}
