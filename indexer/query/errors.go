package query

import (
	"errors"
	"fmt"
)

// ErrInvalidArgument is the sentinel every *Error wraps: the where clause is
// malformed, uses an unknown field, mixes incompatible types, or exceeds a
// limit. It is the S3 error code such a query is answered with.
var ErrInvalidArgument = errors.New("InvalidArgument")

// Error is a query error at a byte position of the input. Pos is a 0-based
// byte offset, 0 <= Pos <= len(input); Pos == len(input) means "at the end of
// the input". Every error Parse and ParseCatalog return is an *Error, and so is
// every error a store returns for a well-formed query it cannot run (for
// example a literal that does not fit a field's declared type).
type Error struct {
	// Pos is the byte offset of the offending token.
	Pos int
	// Msg says what is wrong, without the position.
	Msg string
}

// Error returns "InvalidArgument at position N: msg".
func (e *Error) Error() string {
	return fmt.Sprintf("InvalidArgument at position %d: %s", e.Pos, e.Msg)
}

// Unwrap returns ErrInvalidArgument, so errors.Is(err, ErrInvalidArgument)
// holds for every *Error.
func (e *Error) Unwrap() error { return ErrInvalidArgument }

// Errorf returns an *Error at pos with a formatted message.
func Errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
