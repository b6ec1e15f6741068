package bus

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Message is one delivery handed to a Handler. The handler must not keep it
// after it returns.
type Message struct {
	// Subject is the subject the message was originally published to. For
	// a redriven dead letter it is the subject of the original event, not
	// sluice.redrive.<consumer>.
	Subject string
	// RawSubject is the subject of this delivery (sluice.redrive.<consumer>
	// for a redriven dead letter, Subject otherwise).
	RawSubject string
	// Redriven is true when the delivery is a redriven dead letter.
	Redriven bool
	// Headers are the message's headers (never nil).
	Headers nats.Header
	// Data is the message body.
	Data []byte
	// Metadata is the delivery's JetStream metadata.
	Metadata Metadata
}

// Metadata describes one delivery.
type Metadata struct {
	// Stream and Consumer the message was delivered from and by.
	Stream, Consumer string
	// StreamSeq is the message's sequence in the stream.
	StreamSeq uint64
	// ConsumerSeq is the delivery's sequence in the consumer.
	ConsumerSeq uint64
	// NumDelivered counts deliveries of this message, this one included
	// (1 on the first delivery).
	NumDelivered uint64
	// NumPending is the number of messages left for the consumer.
	NumPending uint64
	// Timestamp is when the stream stored the message.
	Timestamp time.Time
}

// newMessage builds a Message from a JetStream delivery. It returns an
// error when the delivery has no JetStream metadata.
func newMessage(jm jetstream.Msg) (*Message, error) {
	md, err := jm.Metadata()
	if err != nil {
		return nil, fmt.Errorf("bus: delivery metadata: %w", err)
	}
	h := jm.Headers()
	if h == nil {
		h = nats.Header{}
	}
	m := &Message{
		Subject:    jm.Subject(),
		RawSubject: jm.Subject(),
		Headers:    h,
		Data:       jm.Data(),
		Metadata: Metadata{
			Stream:       md.Stream,
			Consumer:     md.Consumer,
			StreamSeq:    md.Sequence.Stream,
			ConsumerSeq:  md.Sequence.Consumer,
			NumDelivered: md.NumDelivered,
			NumPending:   md.NumPending,
			Timestamp:    md.Timestamp,
		},
	}
	m.Subject, m.Redriven = originalSubject(m.RawSubject, h)
	return m, nil
}

// originalSubject returns the subject a message was first published to:
// the HeaderOriginalSubject header for a message on a redrive subject, the
// raw subject otherwise. The header is trusted only on redrive subjects, so
// a publisher cannot disguise an ordinary message.
func originalSubject(raw string, h nats.Header) (string, bool) {
	if !strings.HasPrefix(raw, RedriveSubjectPrefix) {
		return raw, false
	}
	if o := h.Get(HeaderOriginalSubject); o != "" {
		return o, true
	}
	return raw, true
}
