package bus

import (
	"fmt"
	"time"
)

// Outcome is how a consume loop settled one delivery.
type Outcome int

const (
	// Acked: the handler succeeded and the server confirmed the ack.
	Acked Outcome = iota + 1
	// Retried: the handler failed transiently; the message was nak'ed with
	// a backoff delay and will be redelivered.
	Retried
	// DeadLettered: the message failed permanently or too often; it was
	// stored in the dead-letter stream and terminated.
	DeadLettered
	// Returned: the loop was stopping; the message was nak'ed without
	// delay (or never handed to the handler) so another replica can take
	// it at once.
	Returned
	// SettleFailed: the ack, nak or dead-letter step failed; the server
	// redelivers the message after AckWait.
	SettleFailed
)

// String returns the outcome's lower-case name, usable as a metric label.
func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acked"
	case Retried:
		return "retried"
	case DeadLettered:
		return "dead_lettered"
	case Returned:
		return "returned"
	case SettleFailed:
		return "settle_failed"
	default:
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
}

// Settlement describes one settled delivery, for an Observer.
type Settlement struct {
	// Consumer is the durable name of the consumer.
	Consumer string
	// Message is the delivery (do not keep it or its Data).
	Message *Message
	// Outcome is how the delivery was settled.
	Outcome Outcome
	// Err is the handler's error (nil when it succeeded or never ran), or
	// the settle error for SettleFailed.
	Err error
	// Duration is how long the handler ran.
	Duration time.Duration
}

// Observer receives one call per delivery, after the loop settled it; a
// metrics exporter implements it. Settled runs on the handler's goroutine
// and must be quick and safe for concurrent use.
type Observer interface {
	Settled(s Settlement)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Settlement)

// Settled calls f(s).
func (f ObserverFunc) Settled(s Settlement) { f(s) }
