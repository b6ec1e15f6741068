package events

import "errors"

// Sentinel errors. Every error returned by this package wraps one (or more) of
// them, so callers decide with errors.Is. All of them describe bad input, so a
// consumer that meets one on a delivered message should terminate it (send it
// to the dead-letter stream) rather than retry: redelivery cannot fix it.
var (
	// ErrUnknownEventName: an event name or pattern is not one Sluice knows.
	ErrUnknownEventName = errors.New("events: unknown event name")

	// ErrInvalidKey: an object key in a record is not valid URL (form) encoding.
	ErrInvalidKey = errors.New("events: invalid encoded object key")

	// ErrInvalidRecord: an S3 event record is missing required fields or does
	// not agree with the CloudEvent that carries it.
	ErrInvalidRecord = errors.New("events: invalid S3 event record")

	// ErrInvalidEvent: a CloudEvent handed to an encoder fails validation.
	ErrInvalidEvent = errors.New("events: invalid CloudEvent")

	// ErrNotS3Event: a CloudEvent's type does not start with TypePrefix.
	ErrNotS3Event = errors.New("events: not an S3 CloudEvent")

	// ErrMalformed: a message read from the wire (NATS or HTTP) cannot be
	// decoded into a CloudEvent. Decoders wrap it around a more precise cause,
	// sometimes together with ErrMissingAttribute or ErrSpecVersion.
	ErrMalformed = errors.New("events: malformed CloudEvent message")

	// ErrMissingAttribute: a required CloudEvents attribute (specversion, id,
	// source, type) is absent or empty.
	ErrMissingAttribute = errors.New("events: missing required CloudEvents attribute")

	// ErrSpecVersion: the CloudEvents specversion is not "1.0".
	ErrSpecVersion = errors.New("events: unsupported CloudEvents specversion")
)
