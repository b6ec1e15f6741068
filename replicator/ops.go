package replicator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/events/subject"
)

// DestinationStatus is the state of one destination as the admin API
// reports it.
type DestinationStatus struct {
	Destination string `json:"destination"`
	// Paused is the persisted flag (shared by every replica).
	Paused bool `json:"paused"`
	// Running is true while this process consumes for the destination.
	Running bool `json:"running"`
	// Pending is NumPending + NumAckPending of the destination's consumer:
	// events not yet replicated.
	Pending       uint64 `json:"pending"`
	NumPending    uint64 `json:"numPending"`
	NumAckPending int    `json:"numAckPending"`
	// LastAck is when the consumer last acknowledged an event.
	LastAck *time.Time `json:"lastAck,omitempty"`
	// LagSeconds is how long ago the first event after the consumer's
	// ack floor was stored (0 when nothing is pending): approximately the
	// age of the oldest unreplicated event.
	LagSeconds float64 `json:"lagSeconds"`
	// DeadLetters counts FAILED operations waiting for a retry (up to
	// bus.DefaultListLimit).
	DeadLetters int `json:"deadLetters"`
}

func (s *Service) checkDest(dest string) error {
	if !slices.Contains(s.cfg.Destinations, dest) {
		return fmt.Errorf("%w: %q", ErrUnknownDestination, dest)
	}
	return nil
}

func (s *Service) stateStore() (*state, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.state == nil {
		return nil, ErrNotRunning
	}
	return s.state, nil
}

// Destinations returns the names of the destinations served, sorted.
func (s *Service) Destinations() []string { return slices.Clone(s.cfg.Destinations) }

// Status returns the status of dest. It returns ErrUnknownDestination,
// ErrNotRunning before Setup, or the server's error wrapped.
func (s *Service) Status(ctx context.Context, dest string) (DestinationStatus, error) {
	if err := s.checkDest(dest); err != nil {
		return DestinationStatus{}, err
	}
	st, err := s.stateStore()
	if err != nil {
		return DestinationStatus{}, err
	}
	out := DestinationStatus{Destination: dest}
	if out.Paused, err = st.paused(ctx, dest); err != nil {
		return out, err
	}
	s.mu.RLock()
	if d := s.dests[dest]; d != nil {
		d.mu.Lock()
		out.Running = d.loop != nil
		d.mu.Unlock()
	}
	s.mu.RUnlock()
	c, err := s.set.JetStream.Consumer(ctx, bus.EventsStreamName, ConsumerName(dest))
	if err != nil {
		return out, fmt.Errorf("replicator: consumer of %s: %w", dest, err)
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return out, fmt.Errorf("replicator: consumer of %s: %w", dest, err)
	}
	out.NumPending, out.NumAckPending = ci.NumPending, ci.NumAckPending
	out.Pending = ci.NumPending + uint64(max(ci.NumAckPending, 0))
	out.LastAck = ci.AckFloor.Last
	if out.Pending > 0 {
		if str, err := s.set.JetStream.Stream(ctx, bus.EventsStreamName); err == nil {
			if raw, err := str.GetMsg(ctx, ci.AckFloor.Stream+1); err == nil {
				out.LagSeconds = max(s.clock.Now().Sub(raw.Time), 0).Seconds()
			}
		}
	}
	dls, err := s.bus.ListDeadLetters(ctx, ConsumerName(dest), bus.DefaultListLimit)
	if err == nil {
		out.DeadLetters = len(dls)
	}
	return out, nil
}

// Pause stops replication to dest in every replica (the flag is persisted
// in SLUICE_REPLICATION_STATE); events keep accumulating in its consumer.
// It returns ErrUnknownDestination, ErrNotRunning or the server's error.
func (s *Service) Pause(ctx context.Context, dest string) error {
	return s.setPaused(ctx, dest, true)
}

// Resume restarts replication to dest in every replica; the backlog is
// replicated from where it stopped.
func (s *Service) Resume(ctx context.Context, dest string) error {
	return s.setPaused(ctx, dest, false)
}

func (s *Service) setPaused(ctx context.Context, dest string, p bool) error {
	if err := s.checkDest(dest); err != nil {
		return err
	}
	st, err := s.stateStore()
	if err != nil {
		return err
	}
	return st.setPaused(ctx, dest, p)
}

// Failed returns up to limit (bus.DefaultListLimit when <= 0) FAILED
// operations of dest, optionally of one bucket only.
func (s *Service) Failed(ctx context.Context, dest, bucket string, limit int) ([]Checkpoint, error) {
	if err := s.checkDest(dest); err != nil {
		return nil, err
	}
	st, err := s.stateStore()
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = bus.DefaultListLimit
	}
	out := []Checkpoint{}
	errEnough := fmt.Errorf("enough")
	err = st.list(ctx, dest, bucket, func(c Checkpoint) error {
		if c.Status == StatusFailed {
			out = append(out, c)
			if len(out) >= limit {
				return errEnough
			}
		}
		return nil
	})
	if err != nil && err != errEnough {
		return nil, err
	}
	return out, nil
}

// RetryFailed redrives every dead-lettered (FAILED) operation of dest to
// its consumer; each is retried from the source's current state. It
// returns how many were redriven.
func (s *Service) RetryFailed(ctx context.Context, dest string) (int, error) {
	if err := s.checkDest(dest); err != nil {
		return 0, err
	}
	return s.bus.RedriveAll(ctx, ConsumerName(dest))
}

// Resync enqueues one synthetic event per current object of bucket under
// prefix that a rule to dest may select, on the destination's redrive
// subject, so that only dest's consumer sees them. Each is compared with
// the destination itself (not only with the checkpoint) and copied when the
// replica is missing or differs. It returns how many were enqueued; it
// returns ErrUnknownDestination, rules.ErrNotFound when the bucket has no
// rule to dest, or the source's or server's error.
func (s *Service) Resync(ctx context.Context, dest, bucket, prefix string) (int, error) {
	if err := s.checkDest(dest); err != nil {
		return 0, err
	}
	if _, err := s.stateStore(); err != nil {
		return 0, err
	}
	cfg, ok, err := s.rulesFor(ctx, bucket)
	if err != nil {
		return 0, err
	}
	if !ok || !cfg.Targets(dest) {
		return 0, fmt.Errorf("%w: bucket %s has no enabled rule to %s", rules.ErrNotFound, bucket, dest)
	}
	orig, err := subject.ForEvent(bucket, string(events.ObjectCreatedPut))
	if err != nil {
		return 0, err
	}
	var run [8]byte
	_, _ = rand.Read(run[:])
	runID := hex.EncodeToString(run[:])
	now := s.clock.Now()
	n := 0
	err = s.source.list(ctx, bucket, prefix, func(o listedObject) error {
		if _, ok := cfg.ForKey(dest, o.Key); !ok {
			return nil
		}
		rec := events.Record{EventTime: now, EventName: events.ObjectCreatedPut, AWSRegion: s.cfg.Source.Region,
			S3: events.S3Entity{Bucket: events.BucketEntity{Name: bucket}, Object: events.ObjectEntity{Size: o.Size, ETag: o.ETag}}}
		rec.SetObjectKey(o.Key)
		id := "resync-" + runID + "-" + msgID(dest, bucket, o.Key)
		e, err := events.ToCloudEvent(id, rec)
		if err != nil {
			return err
		}
		m, err := events.NewNATSMsg(bus.RedriveSubject(ConsumerName(dest)), e)
		if err != nil {
			return err
		}
		m.Header.Set(bus.HeaderOriginalSubject, orig)
		m.Header.Set(HeaderResync, "1")
		if _, err := s.bus.Publish(ctx, m); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// BucketDestination summarises the checkpoints of one bucket on one
// destination.
type BucketDestination struct {
	Destination string `json:"destination"`
	// Completed and Failed count keys by their last result.
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	// Last is the time of the most recent result.
	Last *time.Time `json:"last,omitempty"`
}

// BucketStatus summarises, per destination, the replication results of
// bucket's keys, reading every checkpoint of the bucket (cost grows with
// the number of keys). It returns ErrNotRunning before Setup, or the
// server's error wrapped.
func (s *Service) BucketStatus(ctx context.Context, bucket string) ([]BucketDestination, error) {
	st, err := s.stateStore()
	if err != nil {
		return nil, err
	}
	by := map[string]*BucketDestination{}
	for _, d := range s.cfg.Destinations {
		by[d] = &BucketDestination{Destination: d}
	}
	err = st.list(ctx, "", bucket, func(c Checkpoint) error {
		b := by[c.Destination]
		if b == nil || c.Bucket != bucket {
			return nil
		}
		switch c.Status {
		case StatusCompleted:
			b.Completed++
		case StatusFailed:
			b.Failed++
		}
		if b.Last == nil || c.Time.After(*b.Last) {
			t := c.Time
			b.Last = &t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]BucketDestination, 0, len(by))
	for _, d := range s.cfg.Destinations {
		out = append(out, *by[d])
	}
	return out, nil
}
