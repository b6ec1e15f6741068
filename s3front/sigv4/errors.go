package sigv4

import "net/http"

// S3 error codes carried by *Error. They are the codes Amazon S3 returns for
// the same failures, so the S3 layer can map them to its own vocabulary.
const (
	CodeAccessDenied                      = "AccessDenied"
	CodeInvalidAccessKeyID                = "InvalidAccessKeyId"
	CodeSignatureDoesNotMatch             = "SignatureDoesNotMatch"
	CodeAuthorizationHeaderMalformed      = "AuthorizationHeaderMalformed"
	CodeAuthorizationQueryParametersError = "AuthorizationQueryParametersError"
	CodeRequestTimeTooSkewed              = "RequestTimeTooSkewed"
	CodeXAmzContentSHA256Mismatch         = "XAmzContentSHA256Mismatch"
	CodeMissingSecurityHeader             = "MissingSecurityHeader"
	CodeMissingContentLength              = "MissingContentLength"
	CodeIncompleteBody                    = "IncompleteBody"
	CodeInvalidArgument                   = "InvalidArgument"
	CodeInvalidRequest                    = "InvalidRequest"
	CodeMalformedTrailerError             = "MalformedTrailerError"
	CodeInvalidChunkSizeError             = "InvalidChunkSizeError"
	CodeInvalidToken                      = "InvalidToken"
)

// Client messages of the aws-chunked errors, as Amazon S3 words them.
const (
	msgBodyTerminated       = "The request body terminated unexpectedly"
	msgLengthMismatch       = "You did not provide the number of bytes specified by the Content-Length HTTP header"
	msgMalformedTrailer     = "The request contained trailing data that was not well-formed or did not conform to our published schema."
	msgInvalidChunkSize     = "Only the last chunk is allowed to have a size less than 8192 bytes"
	msgMissingContentLength = "You must provide the Content-Length HTTP header."
)

// Error is a SigV4 verification failure a client caused. Code is the S3
// error code; Message is safe to send to the client (it never holds secrets,
// signatures or keys). Error values compare with errors.Is in two ways:
//   - against the code sentinels (ErrAccessDenied, ErrSignatureDoesNotMatch,
//     ...), which match any *Error with the same code;
//   - against the specific sentinels (ErrAnonymous, ErrExpired,
//     ErrMalformedChunk, ...), which match only themselves and errors that
//     wrap them.
type Error struct {
	code   string
	msg    string
	status int
	// class marks a code sentinel: it matches every *Error with its code.
	class bool
	// cause is a more specific sentinel or an underlying error.
	cause error
	// fields are extra elements of the S3 error body, name then value.
	fields [][2]string
}

// BodyFields returns the extra elements Amazon S3 sends in the error body
// for this error, as name/value pairs: ArgumentName and ArgumentValue
// (InvalidArgument), AWSAccessKeyId (InvalidAccessKeyId),
// ClientComputedContentSHA256 and S3ComputedContentSHA256
// (XAmzContentSHA256Mismatch). The values are what the client sent or
// digests, never secrets.
func (e *Error) BodyFields() [][2]string { return e.fields }

// withFields returns a copy of e with the given body fields appended
// (name, value, name, value, ...).
func (e *Error) withFields(nv ...string) *Error {
	out := *e
	out.fields = append([][2]string(nil), e.fields...)
	for i := 0; i+1 < len(nv); i += 2 {
		out.fields = append(out.fields, [2]string{nv[i], nv[i+1]})
	}
	return &out
}

// Code returns the S3 error code, for example "SignatureDoesNotMatch".
func (e *Error) Code() string { return e.code }

// Message returns the client-safe message.
func (e *Error) Message() string { return e.msg }

// HTTPStatus returns the HTTP status Amazon S3 sends with this code.
func (e *Error) HTTPStatus() int { return e.status }

// Error implements error as "Code: message".
func (e *Error) Error() string {
	if e.msg == "" {
		return e.code
	}
	return e.code + ": " + e.msg
}

// Unwrap returns the specific sentinel or underlying error, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is the code sentinel of e's code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.class && t.code == e.code
}

func statusOf(code string) int {
	switch code {
	case CodeAccessDenied, CodeInvalidAccessKeyID, CodeSignatureDoesNotMatch, CodeRequestTimeTooSkewed:
		return http.StatusForbidden
	case CodeMissingContentLength:
		return http.StatusLengthRequired
	default:
		return http.StatusBadRequest
	}
}

func codeSentinel(code string) *Error {
	return &Error{code: code, status: statusOf(code), class: true}
}

// newError returns an *Error with the given code and message; cause (may be
// nil) is reachable through errors.Is / errors.As.
func newError(code, msg string, cause error) *Error {
	return &Error{code: code, msg: msg, status: statusOf(code), cause: cause}
}

// Code sentinels: errors.Is(err, ErrX) is true for every *Error with code X.
var (
	ErrAccessDenied                      = codeSentinel(CodeAccessDenied)
	ErrInvalidAccessKeyID                = codeSentinel(CodeInvalidAccessKeyID)
	ErrSignatureDoesNotMatch             = codeSentinel(CodeSignatureDoesNotMatch)
	ErrAuthorizationHeaderMalformed      = codeSentinel(CodeAuthorizationHeaderMalformed)
	ErrAuthorizationQueryParametersError = codeSentinel(CodeAuthorizationQueryParametersError)
	ErrRequestTimeTooSkewed              = codeSentinel(CodeRequestTimeTooSkewed)
	ErrXAmzContentSHA256Mismatch         = codeSentinel(CodeXAmzContentSHA256Mismatch)
	ErrMissingSecurityHeader             = codeSentinel(CodeMissingSecurityHeader)
	ErrMissingContentLength              = codeSentinel(CodeMissingContentLength)
	ErrIncompleteBody                    = codeSentinel(CodeIncompleteBody)
	ErrInvalidArgument                   = codeSentinel(CodeInvalidArgument)
	ErrInvalidRequest                    = codeSentinel(CodeInvalidRequest)
)

// Specific sentinels: each matches only itself (and errors wrapping it), and
// also matches its code sentinel.
var (
	// ErrAnonymous is returned by Verify for a request that carries no
	// authentication at all. Its code is AccessDenied; a caller that allows
	// anonymous access for some resources can test for it and go on with
	// r.Body.
	ErrAnonymous = newError(CodeAccessDenied, "Anonymous access is forbidden for this operation", nil)

	// ErrExpired is returned for a presigned URL used after
	// X-Amz-Date + X-Amz-Expires. Its code is AccessDenied.
	ErrExpired = newError(CodeAccessDenied, "Request has expired", nil)

	// ErrMalformedChunk is wrapped by every aws-chunked framing error (bad
	// hex size, over-long chunk header line, missing CRLF, malformed chunk
	// signature extension, a body that ends early). Its code is
	// IncompleteBody, as Amazon S3 answers them.
	ErrMalformedChunk = newError(CodeIncompleteBody, msgBodyTerminated, nil)

	// ErrMalformedTrailer is wrapped by every malformed trailer: a line
	// that is not a header, a trailing header not declared in
	// x-amz-trailer (or sent without one), a declared one missing. Its code
	// is MalformedTrailerError.
	ErrMalformedTrailer = newError(CodeMalformedTrailerError, msgMalformedTrailer, nil)

	// ErrInvalidChunkSize is wrapped when a chunk other than the last data
	// chunk is smaller than MinChunkSize. Its code is InvalidChunkSizeError.
	ErrInvalidChunkSize = newError(CodeInvalidChunkSizeError, msgInvalidChunkSize, nil)

	// ErrChunkSignature is wrapped by a chunk or trailer signature that
	// does not verify. Its code is SignatureDoesNotMatch.
	ErrChunkSignature = newError(CodeSignatureDoesNotMatch,
		"The chunk signature we calculated does not match the signature you provided", nil)
)

// wrapSentinel returns a new *Error with sentinel's code and msg, wrapping
// sentinel so that errors.Is(err, sentinel) holds.
func wrapSentinel(sentinel *Error, msg string) *Error {
	return newError(sentinel.code, msg, sentinel)
}
