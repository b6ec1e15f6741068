// Package deliver delivers Sluice events to subscribers: webhooks, HTTP
// functions and NATS subjects, configured as named targets (Config) and
// selected per bucket by subscriptions (Subscription, fed by a
// SubscriptionSource).
//
// Every target has one durable JetStream consumer, "deliver-<target>", on
// the events stream; every replica of the events service shares it. The
// consumer filters the subjects its subscriptions need, and each delivery is
// matched again in-process against the subscriptions' filter rules (prefix,
// suffix, tags, metadata).
//
// Guarantees:
//   - At least once: a delivery is acked only after the target answered 2xx
//     (or, for NATS targets, after the publish was stored or flushed).
//   - Nothing blocks the S3 path: a target that is down builds backlog in
//     JetStream and catches up by itself when it is back.
//   - Transient failures (network errors, timeouts, 5xx, 408, 429) are
//     retried with exponential backoff and jitter, honouring Retry-After;
//     permanent failures (a function's 4xx) and events that failed
//     max_attempts times go to the dead-letter stream with the last error,
//     where they can be listed and redriven.
//   - A target with ordered set gets the events of one key in sequencer
//     (stream) order: its consumer allows one unacknowledged delivery at a
//     time (see README.md for the trade-off).
//   - Pausing a target pauses its JetStream consumer, so the pause holds
//     across restarts and replicas.
//   - Test events and subscriptions take effect without a running
//     deliverer: every consumer filters its target's private subject (test
//     events, redriven dead letters) from its creation on, and whoever
//     stores subscriptions (notifications.Store.Apply) first creates the
//     consumer when it is missing (EnsureTargetConsumer), then waits for a
//     running deliverer to filter them (WaitTargetFiltered).
//
// Webhook and function requests carry X-Sluice-Signature: sha256=<hex
// HMAC-SHA256 of the body> when the target has a secret (package
// signature verifies it). See README.md for receivers.
package deliver
