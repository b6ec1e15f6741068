package events

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// MsgIDHeader is the JetStream de-duplication header; NewNATSMsg sets it to
// the event id.
const MsgIDHeader = "Nats-Msg-Id"

// NewNATSMsg builds a NATS message for subject carrying e in CloudEvents
// binary content mode: attributes in lower-case "ce-" headers (values
// percent-encoded, see the binary mode notes in binary.go), datacontenttype
// in "content-type", the data as the body, and Nats-Msg-Id set to the
// (percent-encoded) event id so JetStream drops duplicates of a re-published
// event. The body shares e's data bytes.
//
// It returns an error wrapping ErrInvalidEvent when subject is empty or e
// fails CloudEvents validation or is not spec 1.0.
func NewNATSMsg(subject string, e event.Event) (*nats.Msg, error) {
	if subject == "" {
		return nil, fmt.Errorf("%w: empty NATS subject", ErrInvalidEvent)
	}
	h := nats.Header{}
	if err := writeBinaryHeaders(e, func(k, v string) { h[k] = []string{v} }); err != nil {
		return nil, err
	}
	h[MsgIDHeader] = []string{percentEncode(e.ID())}
	return &nats.Msg{Subject: subject, Header: h, Data: e.Data()}, nil
}

// EventFromNATS decodes a binary-mode CloudEvent from a NATS message's
// headers and body (jetstream.Msg gives them as Headers() and Data()). Header
// names match without regard to case; other headers (Nats-*, tracing) are
// ignored. The event's data is a copy of body.
//
// It never panics. Every error wraps ErrMalformed, and also
// ErrMissingAttribute (no specversion, id, source or type) or ErrSpecVersion
// (specversion other than "1.0") where they apply. Other causes: a repeated
// attribute, bad percent-encoding or UTF-8, a source or dataschema that is
// not a URI, a time that is not RFC 3339, an invalid extension name, or a
// body that is not JSON while the content type is JSON or absent.
func EventFromNATS(h nats.Header, body []byte) (event.Event, error) {
	return readBinary(h, body)
}

// EventFromNATSMsg is EventFromNATS for a *nats.Msg; a nil msg is malformed.
func EventFromNATSMsg(m *nats.Msg) (event.Event, error) {
	if m == nil {
		return event.Event{}, fmt.Errorf("%w: nil message", ErrMalformed)
	}
	return readBinary(m.Header, m.Data)
}
