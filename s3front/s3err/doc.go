// Package s3err is the S3 error vocabulary of s3front: one ErrorCode type
// whose values know their HTTP status and default message, an *Error type
// carrying a code plus the optional elements of an S3 error body, and
// WriteError, the single writer that turns any Go error into an S3 XML
// error response without leaking internal error text.
//
// Other packages' typed errors map onto this vocabulary by exposing a
// Code() string method (and optionally Message() string) naming a declared
// code; FromCode performs the lookup.
package s3err
