package bus

import (
	"errors"
)

var (
	// ErrMissingMsgID is returned by Publish when the message has no
	// Nats-Msg-Id header. The id is the idempotency key; a publish without
	// one could be stored twice when it is retried.
	ErrMissingMsgID = errors.New("bus: message has no Nats-Msg-Id header")

	// ErrInvalidMessage is returned by Publish for a nil message or one
	// without a subject.
	ErrInvalidMessage = errors.New("bus: invalid message")

	// ErrInvalidSpec is returned when a StreamSpec, ConsumerSpec or
	// ConsumeSpec is not valid; the wrapped message says which field.
	ErrInvalidSpec = errors.New("bus: invalid spec")

	// ErrInvalidName is returned when a stream or consumer name cannot be
	// used as a NATS name or subject token (empty, or containing '.', '*',
	// '>', '/', '\' or white space).
	ErrInvalidName = errors.New("bus: invalid name")

	// ErrConsumerConfig is returned by Consume when the durable consumer
	// exists but was not created the way the loop needs it: explicit acks
	// and an unlimited server-side MaxDeliver (-1). EnsureConsumer creates
	// consumers this way.
	ErrConsumerConfig = errors.New("bus: consumer configuration not supported by the loop")

	// ErrDeadLetterNotFound is returned by Redrive when a requested dead
	// letter does not exist or belongs to another consumer.
	ErrDeadLetterNotFound = errors.New("bus: dead letter not found")
)

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: a consumer loop that gets it from a
// handler dead-letters the message at once instead of retrying it. It
// returns nil for a nil err. errors.Is and errors.As still see err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	if IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
