package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Headers the bus adds to dead letters and redriven messages.
const (
	// HeaderOriginalSubject carries the subject a message was first
	// published to, on dead letters and redriven messages.
	HeaderOriginalSubject = "Sluice-Original-Subject"
	// HeaderOriginalMsgID carries the original Nats-Msg-Id, on dead letters
	// and redriven messages (both get a Nats-Msg-Id of their own).
	HeaderOriginalMsgID = "Sluice-Original-Msg-Id"
	// HeaderRedrivenFrom carries the dead-letter sequence a redriven
	// message came from.
	HeaderRedrivenFrom = "Sluice-Redriven-From"

	// HeaderDLQReason is why the message was dead-lettered (the handler's
	// error text, on one line, at most MaxReasonLen bytes).
	HeaderDLQReason = "Sluice-DLQ-Reason"
	// HeaderDLQStream is the stream the message was consumed from.
	HeaderDLQStream = "Sluice-DLQ-Stream"
	// HeaderDLQStreamSeq is the message's sequence in that stream.
	HeaderDLQStreamSeq = "Sluice-DLQ-Stream-Seq"
	// HeaderDLQConsumer is the durable name of the consumer that failed it.
	HeaderDLQConsumer = "Sluice-DLQ-Consumer"
	// HeaderDLQDeliveries is how many times it was delivered.
	HeaderDLQDeliveries = "Sluice-DLQ-Deliveries"
	// HeaderDLQTime is when it was dead-lettered (RFC 3339, UTC).
	HeaderDLQTime = "Sluice-DLQ-Time"

	// dlqHeaderPrefix is the prefix of the headers above that only dead
	// letters carry.
	dlqHeaderPrefix = "Sluice-DLQ-"
)

// MaxReasonLen bounds the reason stored with a dead letter.
const MaxReasonLen = 1024

// DeadLetter is one entry of the dead-letter stream.
type DeadLetter struct {
	// Seq is the entry's sequence in the dead-letter stream; it is the id
	// to pass to Redrive.
	Seq uint64
	// Consumer is the durable name of the consumer that failed the message.
	Consumer string
	// Reason is why it was dead-lettered.
	Reason string
	// Stream and StreamSeq locate the original message.
	Stream    string
	StreamSeq uint64
	// Subject is the original subject.
	Subject string
	// Deliveries is how many times the message was delivered.
	Deliveries uint64
	// Time is when the message was dead-lettered.
	Time time.Time
	// Headers are the original message's headers (without the dead-letter
	// headers above and without NATS control headers; the original
	// Nats-Msg-Id is in HeaderOriginalMsgID).
	Headers nats.Header
	// Data is the original body.
	Data []byte
}

// oneLine makes s safe as a header value: no CR/LF, valid UTF-8, at most
// MaxReasonLen bytes.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
	if len(s) > MaxReasonLen {
		cut := MaxReasonLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.TrimSpace(s)
}

// isControlHeader reports whether a header is a NATS control header
// (Nats-Msg-Id, Nats-Expected-*, ...) that must not be republished as is.
func isControlHeader(k string) bool {
	return len(k) >= 5 && strings.EqualFold(k[:5], "nats-")
}

// isDLQHeader reports whether a header is one the bus adds to dead letters.
func isDLQHeader(k string) bool {
	return len(k) >= len(dlqHeaderPrefix) && strings.EqualFold(k[:len(dlqHeaderPrefix)], dlqHeaderPrefix)
}

// copyHeaders copies h without the headers drop selects.
func copyHeaders(h nats.Header, drop func(string) bool) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		if drop(k) {
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

// deadLetterMsg builds the dead-letter copy of m: its headers (without NATS
// control headers) and body, the dead-letter headers, and a Nats-Msg-Id
// derived from the consumer and the original stream position, so that a
// retried dead-lettering of the same delivery is stored once.
func deadLetterMsg(m *Message, consumer, reason string, now time.Time) *nats.Msg {
	h := copyHeaders(m.Headers, func(k string) bool { return isControlHeader(k) || isDLQHeader(k) })
	if id := m.Headers.Get(jetstream.MsgIDHeader); id != "" {
		h.Set(HeaderOriginalMsgID, id)
	}
	h.Set(HeaderOriginalSubject, m.Subject)
	h.Set(HeaderDLQReason, oneLine(reason))
	h.Set(HeaderDLQStream, m.Metadata.Stream)
	h.Set(HeaderDLQStreamSeq, strconv.FormatUint(m.Metadata.StreamSeq, 10))
	h.Set(HeaderDLQConsumer, consumer)
	h.Set(HeaderDLQDeliveries, strconv.FormatUint(m.Metadata.NumDelivered, 10))
	h.Set(HeaderDLQTime, now.UTC().Format(time.RFC3339Nano))
	h.Set(jetstream.MsgIDHeader, fmt.Sprintf("sluice-dlq:%s:%s:%d", consumer, m.Metadata.Stream, m.Metadata.StreamSeq))
	return &nats.Msg{Subject: DeadLetterSubject(consumer), Header: h, Data: m.Data}
}

// parseDeadLetter reads a dead-letter stream entry. It never fails: fields
// it cannot parse stay zero (Time falls back to the stored time).
func parseDeadLetter(raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	d := DeadLetter{
		Seq:      raw.Sequence,
		Consumer: h.Get(HeaderDLQConsumer),
		Reason:   h.Get(HeaderDLQReason),
		Stream:   h.Get(HeaderDLQStream),
		Subject:  h.Get(HeaderOriginalSubject),
		Time:     raw.Time,
		Headers:  copyHeaders(h, func(k string) bool { return isControlHeader(k) || isDLQHeader(k) }),
		Data:     raw.Data,
	}
	if d.Consumer == "" {
		d.Consumer = strings.TrimPrefix(raw.Subject, DLQSubjectPrefix)
	}
	d.StreamSeq, _ = strconv.ParseUint(h.Get(HeaderDLQStreamSeq), 10, 64)
	d.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDLQDeliveries), 10, 64)
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderDLQTime)); err == nil {
		d.Time = t
	}
	return d
}

// redriveMsg builds the message that redrives dead letter d of consumer:
// the original headers and body, HeaderOriginalSubject, HeaderRedrivenFrom
// and a fresh Nats-Msg-Id derived from the dead-letter stream and sequence.
func redriveMsg(dlqStream, consumer string, d DeadLetter) *nats.Msg {
	h := copyHeaders(d.Headers, func(string) bool { return false })
	h.Set(HeaderOriginalSubject, d.Subject)
	h.Set(HeaderRedrivenFrom, strconv.FormatUint(d.Seq, 10))
	h.Set(jetstream.MsgIDHeader, fmt.Sprintf("sluice-redrive:%s:%d", dlqStream, d.Seq))
	return &nats.Msg{Subject: RedriveSubject(consumer), Header: h, Data: d.Data}
}

// DefaultListLimit is the number of dead letters ListDeadLetters returns
// when limit is not positive.
const DefaultListLimit = 100

// ListDeadLetters returns up to limit (DefaultListLimit when limit <= 0)
// dead letters of consumer, oldest first. It returns ErrInvalidName for a
// bad consumer name, and the server's error wrapped (e.g.
// jetstream.ErrStreamNotFound when the dead-letter stream does not exist).
func (b *Bus) ListDeadLetters(ctx context.Context, consumer string, limit int) ([]DeadLetter, error) {
	if err := validName(consumer); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultListLimit
	}
	st, err := b.js.Stream(ctx, b.dlqStream)
	if err != nil {
		return nil, fmt.Errorf("bus: dead-letter stream %s: %w", b.dlqStream, err)
	}
	var out []DeadLetter
	err = b.eachDeadLetter(ctx, st, consumer, 0, func(raw *jetstream.RawStreamMsg) (bool, error) {
		out = append(out, parseDeadLetter(raw))
		return len(out) < limit, nil
	})
	return out, err
}

// eachDeadLetter calls f for the dead letters of consumer in sequence order,
// up to sequence last (0: no bound), until f returns false or an error.
func (b *Bus) eachDeadLetter(ctx context.Context, st jetstream.Stream, consumer string, last uint64,
	f func(*jetstream.RawStreamMsg) (bool, error),
) error {
	subj := DeadLetterSubject(consumer)
	for seq := uint64(1); last == 0 || seq <= last; {
		raw, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bus: read dead letters of %s: %w", consumer, err)
		}
		if last != 0 && raw.Sequence > last {
			return nil
		}
		more, err := f(raw)
		if err != nil || !more {
			return err
		}
		seq = raw.Sequence + 1
	}
	return nil
}

// Redrive republishes the dead letters of consumer with the given
// dead-letter sequences (DeadLetter.Seq) to RedriveSubject(consumer), with
// their original body and headers, HeaderOriginalSubject and a fresh
// Nats-Msg-Id derived from the dead-letter sequence; it deletes each entry
// from the dead-letter stream only after the PubAck. The consumer sees the
// message again with Message.Subject set to the original subject. The
// redrive subject lives in the events stream (EventsStreamSpec captures
// sluice.redrive.>), so only consumers of that stream can be redriven.
//
// It stops at the first failure and returns how many were redriven. A
// sequence that does not exist or belongs to another consumer gives
// ErrDeadLetterNotFound. Running Redrive again after a failure is safe: a
// republished entry that was not deleted is deduplicated by its
// Nats-Msg-Id within the events stream's duplicates window.
func (b *Bus) Redrive(ctx context.Context, consumer string, seqs []uint64) (int, error) {
	if err := validName(consumer); err != nil {
		return 0, err
	}
	st, err := b.js.Stream(ctx, b.dlqStream)
	if err != nil {
		return 0, fmt.Errorf("bus: dead-letter stream %s: %w", b.dlqStream, err)
	}
	n := 0
	for _, seq := range seqs {
		raw, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) || (err == nil && raw.Subject != DeadLetterSubject(consumer)) {
			return n, fmt.Errorf("%w: %s #%d", ErrDeadLetterNotFound, consumer, seq)
		}
		if err != nil {
			return n, fmt.Errorf("bus: read dead letter %s #%d: %w", consumer, seq, err)
		}
		if err := b.redriveOne(ctx, st, consumer, raw); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// RedriveAll redrives, like Redrive, every dead letter of consumer that is
// in the dead-letter stream when it starts (entries dead-lettered while it
// runs are left for a later call). It stops at the first failure and
// returns how many were redriven.
func (b *Bus) RedriveAll(ctx context.Context, consumer string) (int, error) {
	if err := validName(consumer); err != nil {
		return 0, err
	}
	st, err := b.js.Stream(ctx, b.dlqStream)
	if err != nil {
		return 0, fmt.Errorf("bus: dead-letter stream %s: %w", b.dlqStream, err)
	}
	last := st.CachedInfo().State.LastSeq
	if last == 0 {
		return 0, nil
	}
	n := 0
	err = b.eachDeadLetter(ctx, st, consumer, last, func(raw *jetstream.RawStreamMsg) (bool, error) {
		if err := b.redriveOne(ctx, st, consumer, raw); err != nil {
			return false, err
		}
		n++
		return true, nil
	})
	return n, err
}

// redriveOne publishes one dead letter to the redrive subject and deletes
// it after the PubAck.
func (b *Bus) redriveOne(ctx context.Context, st jetstream.Stream, consumer string, raw *jetstream.RawStreamMsg) error {
	d := parseDeadLetter(raw)
	if _, err := b.Publish(ctx, redriveMsg(b.dlqStream, consumer, d)); err != nil {
		return fmt.Errorf("bus: redrive %s #%d: %w", consumer, d.Seq, err)
	}
	if err := st.DeleteMsg(ctx, d.Seq); err != nil {
		// Someone else (a concurrent redrive) may have deleted it first.
		if _, gerr := st.GetMsg(ctx, d.Seq); !errors.Is(gerr, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("bus: delete redriven dead letter %s #%d: %w", consumer, d.Seq, err)
		}
	}
	b.log.Info("dead letter redriven", zapConsumer(consumer), zap.Uint64("dlq_seq", d.Seq),
		zap.String("subject", d.Subject))
	return nil
}
