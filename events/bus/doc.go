// Package bus moves Sluice messages over NATS JetStream: it declares streams
// and consumers, publishes with an idempotency key and a server ack, runs
// bounded consumer loops with explicit acks, backoff and dead letters, and
// lists and redrives dead letters.
//
// The bus is payload-agnostic: it carries *nats.Msg values whose headers and
// body are built by the event contract (package events). It never looks
// inside a body.
//
// Guarantees:
//   - Publish returns only after JetStream stored the message (PubAck) and
//     always carries a Nats-Msg-Id, so a retried publish is stored once.
//   - A consumer loop acks only after its handler returned nil, and waits for
//     the server to confirm the ack (DoubleAck).
//   - A handler error is retried with exponential backoff; a permanent error
//     (see Permanent), or a message that failed MaxDeliver times, is copied
//     into the dead-letter stream and terminated only after the dead-letter
//     copy is acknowledged. The server never drops a message on its own:
//     consumers are created with an unlimited server-side MaxDeliver.
//   - A redriven dead letter reaches only the consumer that failed it, under
//     its original subject.
//
// Subjects:
//
//	sluice.events.>            events (stream SLUICE_EVENTS)
//	sluice.redrive.<consumer>  redriven dead letters (stream SLUICE_EVENTS)
//	sluice.dlq.<consumer>      dead letters (stream SLUICE_DLQ)
package bus
