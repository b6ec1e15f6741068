package s3err

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"

	"go.uber.org/zap"
)

// HostIDHeader is the response header whose value WriteError copies into
// <HostId> when the server has set it before calling WriteError.
const HostIDHeader = "x-amz-id-2"

// RequestIDHeader is the response header carrying the request id. WriteError
// sets it to requestID when requestID is not empty and the header is unset.
const RequestIDHeader = "x-amz-request-id"

// WriteError writes err as an S3 error response and returns the HTTP status
// it sent.
//
// Guarantees:
//   - any error is accepted; As decides the *Error to send;
//   - an error that is neither an *Error, an ErrorCode, nor a type with a
//     Code() string naming a declared code is sent as InternalError with the
//     generic message; its text is logged at error level and never sent;
//   - 5xx errors are logged at error level with their Cause, 4xx at debug;
//   - Content-Type is application/xml and Content-Length is set;
//   - HEAD requests and NotModified (304) get the status and headers only;
//   - <Resource> defaults to the request's URL path; <RequestId> is
//     requestID; <HostId> is the x-amz-id-2 response header if set.
//
// A nil logger is allowed (nothing is logged). A failure to write the body
// (client gone) is logged at debug level and otherwise ignored.
func WriteError(w http.ResponseWriter, r *http.Request, err error, requestID string, logger *zap.Logger) int {
	if logger == nil {
		logger = zap.NewNop()
	}
	e, known := As(err)
	status := e.Status()

	fields := []zap.Field{
		zap.String("s3_code", e.S3Code()),
		zap.Int("status", status),
		zap.String("request_id", requestID),
	}
	if r != nil {
		fields = append(fields, zap.String("method", r.Method), zap.String("path", r.URL.Path))
	}
	switch {
	case !known:
		logger.Error("s3 request failed with an unmapped error", append(fields, zap.Error(err))...)
	case status >= 500:
		if e.Cause != nil {
			fields = append(fields, zap.Error(e.Cause))
		}
		logger.Error("s3 request failed", fields...)
	default:
		if e.Cause != nil {
			fields = append(fields, zap.Error(e.Cause))
		}
		logger.Debug("s3 request rejected", fields...)
	}

	h := w.Header()
	for name, values := range e.Header {
		for _, v := range values {
			h.Add(name, v)
		}
	}
	if requestID != "" && h.Get(RequestIDHeader) == "" {
		h.Set(RequestIDHeader, requestID)
	}

	if !e.Code.HasBody() || (r != nil && r.Method == http.MethodHead) {
		if e.Code.HasBody() {
			h.Set("Content-Type", "application/xml")
		}
		w.WriteHeader(status)
		return status
	}

	resource := e.Resource
	if resource == "" && r != nil && r.URL != nil {
		resource = r.URL.Path
	}
	body := Marshal(e, resource, requestID, h.Get(HostIDHeader))
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if _, werr := w.Write(body); werr != nil {
		logger.Debug("writing s3 error body failed", zap.String("request_id", requestID), zap.Error(werr))
	}
	return status
}

// Marshal returns the XML error document for e, with the XML declaration:
// <Error><Code/><Message/>[extra elements]<Resource/><RequestId/><HostId/></Error>.
// Only client-safe fields are included; Cause and Header never are. Extra
// Fields whose Name is not a valid XML name are skipped.
func Marshal(e *Error, resource, requestID, hostID string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error>")
	elem(&b, "Code", e.S3Code())
	elem(&b, "Message", e.ClientMessage())
	optional := []Field{
		{"BucketName", e.BucketName},
		{"Key", e.Key},
		{"VersionId", e.VersionID},
		{"UploadId", e.UploadID},
		{"ArgumentName", e.ArgumentName},
		{"ArgumentValue", e.ArgumentValue},
	}
	// Detail fields describe the request that failed; an undeclared code is
	// an internal failure and gets none of them.
	if e.Code.Known() {
		for _, f := range optional {
			if f.Value != "" {
				elem(&b, f.Name, f.Value)
			}
		}
		for _, f := range e.Fields {
			if validName(f.Name) {
				elem(&b, f.Name, f.Value)
			}
		}
	}
	elem(&b, "Resource", resource)
	elem(&b, "RequestId", requestID)
	elem(&b, "HostId", hostID)
	b.WriteString("</Error>")
	return b.Bytes()
}

func elem(b *bytes.Buffer, name, value string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
	_ = xml.EscapeText(b, []byte(value)) // bytes.Buffer writes never fail
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// validName reports whether s is a conservative XML element name: an ASCII
// letter or underscore followed by ASCII letters, digits, '-', '_' or '.'.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
