package s3err

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is one S3 error response: a code, a client-safe message, and the
// optional elements S3 adds to some errors. Everything in it except Cause
// and Header is sent to the client in the XML body, so never put secrets
// or internal details in Message or Fields.
//
// Error works with errors.Is and errors.As:
//   - errors.As(err, &e) with e *Error finds it through %w wrapping;
//   - errors.Is(err, s3err.NoSuchKey) is true when e.Code == NoSuchKey;
//   - errors.Is(err, other) with other *Error compares codes only;
//   - Unwrap returns Cause, so the internal cause stays reachable for logs.
type Error struct {
	// Code is the S3 error code; an undeclared code is sent as InternalError.
	Code ErrorCode
	// Message is sent in <Message>; empty means Code.Description().
	Message string
	// Resource is sent in <Resource>; empty means the request path.
	Resource string
	// BucketName, Key, VersionID and UploadID are sent as <BucketName>,
	// <Key>, <VersionId> and <UploadId> when not empty.
	BucketName string
	Key        string
	VersionID  string
	UploadID   string
	// ArgumentName and ArgumentValue are sent with InvalidArgument errors
	// as <ArgumentName> and <ArgumentValue> when not empty.
	ArgumentName  string
	ArgumentValue string
	// Fields are extra elements sent after the ones above, in order, e.g.
	// {"Condition", "If-Match"} or {"MaxSizeAllowed", "5368709120"}.
	Fields []Field
	// Header holds extra response headers (e.g. x-amz-delete-marker,
	// x-amz-version-id, Allow); WriteError copies them onto the response.
	Header http.Header
	// Cause is the internal error behind this one. It is logged by
	// WriteError and never sent to the client.
	Cause error
}

// Field is one extra element of an S3 error body: <Name>Value</Name>.
// Name must be a valid XML element name; WriteError skips fields whose
// name is not.
type Field struct {
	Name  string
	Value string
}

// New returns an *Error with the given code and message; an empty message
// means the code's default description.
func New(code ErrorCode, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Newf is New with a fmt-formatted message. Only client-safe values may
// be formatted into it.
func Newf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the code's default message whose Cause is
// cause. The cause is logged by WriteError, never sent.
func Wrap(code ErrorCode, cause error) *Error {
	return &Error{Code: code, Cause: cause}
}

// Internal returns an InternalError wrapping cause: the generic message is
// sent and cause is only logged.
func Internal(cause error) *Error {
	return &Error{Code: InternalError, Cause: cause}
}

// Error implements error. It includes the cause, so it is for logs only;
// the client sees only the XML body.
func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	s := e.Code.Code() + ": " + e.ClientMessage()
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// ClientMessage returns the message sent to the client: Message, or the
// code's default when Message is empty. An undeclared code always gets
// InternalError's generic message.
func (e *Error) ClientMessage() string {
	if !e.Code.Known() || e.Message == "" {
		return e.Code.Description()
	}
	return e.Message
}

// Status returns the HTTP status for e's code.
func (e *Error) Status() int { return e.Code.Status() }

// S3Code returns the code string sent in <Code>.
func (e *Error) S3Code() string { return e.Code.Code() }

// Unwrap returns Cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is the same S3 code: an ErrorCode, or an
// *Error with the same Code.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case ErrorCode:
		return e.Code == t
	case *Error:
		return t != nil && e.Code == t.Code
	}
	return false
}

// WithResource sets Resource and returns e, for chaining.
func (e *Error) WithResource(resource string) *Error { e.Resource = resource; return e }

// WithBucket sets BucketName and returns e, for chaining.
func (e *Error) WithBucket(bucket string) *Error { e.BucketName = bucket; return e }

// WithKey sets Key and returns e, for chaining.
func (e *Error) WithKey(key string) *Error { e.Key = key; return e }

// WithVersionID sets VersionID and returns e, for chaining.
func (e *Error) WithVersionID(versionID string) *Error { e.VersionID = versionID; return e }

// WithUploadID sets UploadID and returns e, for chaining.
func (e *Error) WithUploadID(uploadID string) *Error { e.UploadID = uploadID; return e }

// WithArgument sets ArgumentName and ArgumentValue and returns e.
func (e *Error) WithArgument(name, value string) *Error {
	e.ArgumentName, e.ArgumentValue = name, value
	return e
}

// WithField appends an extra body element and returns e.
func (e *Error) WithField(name, value string) *Error {
	e.Fields = append(e.Fields, Field{Name: name, Value: value})
	return e
}

// WithHeader adds a response header and returns e.
func (e *Error) WithHeader(name, value string) *Error {
	if e.Header == nil {
		e.Header = make(http.Header)
	}
	e.Header.Add(name, value)
	return e
}

// WithCause sets Cause and returns e.
func (e *Error) WithCause(cause error) *Error { e.Cause = cause; return e }

// coder is implemented by other packages' typed errors that name an S3
// code (for example sigv4's errors).
type coder interface {
	Code() string
}

// messager is optionally implemented next to coder to supply a
// client-safe message.
type messager interface {
	Message() string
}

// fielder is optionally implemented next to coder to supply extra error
// body elements as name/value pairs; ArgumentName and ArgumentValue fill
// those fields, other names become Fields.
type fielder interface {
	BodyFields() [][2]string
}

// As converts any error to the *Error that WriteError would send, without
// logging:
//   - an *Error anywhere in err's chain is returned as is;
//   - an ErrorCode in the chain becomes New(code, "");
//   - a value in the chain with a Code() string method naming a declared
//     code becomes an *Error with that code, the value's Message() if it
//     has one, and Cause err;
//   - anything else (including nil) becomes Internal(err), and known is
//     false.
func As(err error) (e *Error, known bool) {
	if err == nil {
		return Internal(errors.New("s3err: nil error written")), false
	}
	var se *Error
	if errors.As(err, &se) && se != nil {
		return se, se.Code.Known()
	}
	var code ErrorCode
	if errors.As(err, &code) {
		return &Error{Code: code, Cause: err}, code.Known()
	}
	var c coder
	if errors.As(err, &c) {
		if ec, ok := FromCode(c.Code()); ok {
			out := &Error{Code: ec, Cause: err}
			if m, ok := c.(messager); ok {
				out.Message = m.Message()
			}
			if f, ok := c.(fielder); ok {
				for _, nv := range f.BodyFields() {
					switch nv[0] {
					case "ArgumentName":
						out.ArgumentName = nv[1]
					case "ArgumentValue":
						out.ArgumentValue = nv[1]
					default:
						out.Fields = append(out.Fields, Field{Name: nv[0], Value: nv[1]})
					}
				}
			}
			return out, true
		}
	}
	return Internal(err), false
}

// Status returns the HTTP status WriteError would send for err.
func Status(err error) int {
	e, _ := As(err)
	return e.Status()
}
