package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// HTTP bindings: structured mode (the whole event as JSON) and binary mode
// (the same "ce-" header mapping as NATS, see binary.go).
const (
	// ContentTypeStructured is the content type of a structured-mode event.
	ContentTypeStructured = "application/cloudevents+json"
	// contentTypeBatch is the (unsupported) batch content type.
	contentTypeBatch = "application/cloudevents-batch+json"
	// MaxHTTPBodySize bounds the body EventFromHTTP reads: 1 MiB, NATS's
	// default maximum payload.
	MaxHTTPBodySize = 1 << 20
)

// HTTPMode selects the CloudEvents HTTP content mode.
type HTTPMode int

const (
	// HTTPBinary puts attributes in "Ce-" headers and the data in the body.
	HTTPBinary HTTPMode = iota
	// HTTPStructured sends the whole event as application/cloudevents+json.
	HTTPStructured
)

// MarshalStructured encodes e in the CloudEvents JSON format (structured
// mode). JSON data (as Sluice's records are) is embedded as a JSON value.
// It returns an error wrapping ErrInvalidEvent if e is invalid or not 1.0.
func MarshalStructured(e event.Event) ([]byte, error) {
	if err := checkSendable(e); err != nil {
		return nil, err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return b, nil
}

// UnmarshalStructured decodes a CloudEvents JSON document. It never panics;
// errors wrap ErrMalformed, and ErrSpecVersion or ErrMissingAttribute where
// they apply.
func UnmarshalStructured(b []byte) (event.Event, error) {
	var e event.Event
	if err := json.Unmarshal(b, &e); err != nil {
		return event.Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !hasContext(e) {
		return event.Event{}, fmt.Errorf("%w: %w: specversion", ErrMalformed, ErrMissingAttribute)
	}
	if v := e.SpecVersion(); v != SpecVersion {
		return event.Event{}, fmt.Errorf("%w: %w: %q", ErrMalformed, ErrSpecVersion, v)
	}
	for _, a := range []struct{ name, value string }{{"id", e.ID()}, {"source", e.Source()}, {"type", e.Type()}} {
		if strings.TrimSpace(a.value) == "" {
			return event.Event{}, fmt.Errorf("%w: %w: %s", ErrMalformed, ErrMissingAttribute, a.name)
		}
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

// NewHTTPRequest builds a POST of e to url in the given mode, for webhook
// and function targets. The request has GetBody set, so it can be retried.
// It returns an error wrapping ErrInvalidEvent if e cannot be sent, or the
// error of http.NewRequestWithContext (a bad URL).
func NewHTTPRequest(ctx context.Context, url string, e event.Event, mode HTTPMode) (*http.Request, error) {
	var (
		body []byte
		h    = http.Header{}
	)
	switch mode {
	case HTTPStructured:
		b, err := MarshalStructured(e)
		if err != nil {
			return nil, err
		}
		body = b
		h.Set("Content-Type", ContentTypeStructured)
	case HTTPBinary:
		if err := writeBinaryHeaders(e, h.Set); err != nil {
			return nil, err
		}
		body = e.Data()
	default:
		return nil, fmt.Errorf("%w: unknown HTTP mode %d", ErrInvalidEvent, mode)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("events: new HTTP request: %w", err)
	}
	req.Header = h
	return req, nil
}

// EventFromHTTPRequest decodes the CloudEvent in r (either mode; the
// content type decides). It reads at most MaxHTTPBodySize bytes of the body
// and does not close it (the server does). Errors are those of EventFromHTTP.
func EventFromHTTPRequest(r *http.Request) (event.Event, error) {
	if r == nil {
		return event.Event{}, fmt.Errorf("%w: nil request", ErrMalformed)
	}
	return EventFromHTTP(r.Header, r.Body)
}

// EventFromHTTP decodes a CloudEvent from HTTP headers and body: structured
// mode when the content type is application/cloudevents+json, binary mode
// otherwise. Batches are not supported. It never panics; every error wraps
// ErrMalformed (see EventFromNATS for the binary-mode causes), including a
// body over MaxHTTPBodySize; a failing body read is returned wrapped as is.
func EventFromHTTP(h http.Header, body io.Reader) (event.Event, error) {
	var b []byte
	if body != nil {
		var err error
		b, err = io.ReadAll(io.LimitReader(body, MaxHTTPBodySize+1))
		if err != nil {
			return event.Event{}, fmt.Errorf("events: read HTTP body: %w", err)
		}
		if len(b) > MaxHTTPBodySize {
			return event.Event{}, fmt.Errorf("%w: body larger than %d bytes", ErrMalformed, MaxHTTPBodySize)
		}
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err == nil && mt == ContentTypeStructured:
			return UnmarshalStructured(b)
		case err == nil && mt == contentTypeBatch:
			return event.Event{}, fmt.Errorf("%w: batched events are not supported", ErrMalformed)
		}
	}
	return readBinary(h, b)
}

// checkSendable returns an error wrapping ErrInvalidEvent unless e is a
// valid 1.0 event.
func checkSendable(e event.Event) error {
	if !hasContext(e) {
		return fmt.Errorf("%w: no context", ErrInvalidEvent)
	}
	if v := e.SpecVersion(); v != SpecVersion {
		return fmt.Errorf("%w: %w: %q", ErrInvalidEvent, ErrSpecVersion, v)
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return nil
}
