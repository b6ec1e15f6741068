package s3front

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/s3front/meta"
)

// StatusConsumer is the durable consumer through which s3front applies
// replication results: on stream SLUICE_STATUS, filtered to
// sluice.status.replication.>, shared by every s3front replica.
const StatusConsumer = "s3front-status"

const (
	// statusConcurrency bounds the results handled at once. Handlers wait
	// for the batch holding their result to commit, so it also bounds a
	// batch.
	statusConcurrency = 128
	// maxStatusError bounds the stored text of a failure.
	maxStatusError = 1024
)

// statusConsumerSpec is the consumer of replication results. SLUICE_STATUS
// does not capture sluice.redrive.>, so dead letters of this consumer are
// inspected, not redriven.
func statusConsumerSpec(replicas int) bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream:         status.StreamName,
		Durable:        StatusConsumer,
		Description:    "s3front applies replication results to object metadata",
		FilterSubjects: []string{status.ReplicationPrefix + ">"},
		MaxAckPending:  4 * statusConcurrency,
		Replicas:       replicas,
		NoRedrive:      true,
	}
}

// statusMetrics counts applied results by outcome.
type statusMetrics struct {
	results *prometheus.CounterVec
}

// newStatusMetrics registers the metrics on reg (nil: unregistered).
func newStatusMetrics(reg prometheus.Registerer) (*statusMetrics, error) {
	m := &statusMetrics{results: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_s3_replication_results_total",
		Help: "Replication results received by s3front, by outcome (applied, stale, no-version, invalid).",
	}, []string{"outcome"})}
	if reg != nil {
		if err := reg.Register(m.results); err != nil {
			return nil, fmt.Errorf("s3front: register replication metrics: %w", err)
		}
	}
	return m, nil
}

func (m *statusMetrics) observe(o meta.ReplicationOutcome) {
	if m != nil {
		m.results.WithLabelValues(string(o)).Inc()
	}
}

// statusApplier applies replication results (status.Event) to the metadata
// in batches: every handler hands its result to one goroutine, which applies
// whatever has queued up in one transaction (meta.ReplicationStore), the
// way SQLite's group commit batches writes. A handler returns, and its
// message is acked, only after its batch committed.
type statusApplier struct {
	store   meta.Store
	log     *zap.Logger
	metrics *statusMetrics
	in      chan *statusReq
}

type statusReq struct {
	u    meta.ReplicationUpdate
	done chan statusRes
}

type statusRes struct {
	out meta.ReplicationOutcome
	err error
}

func newStatusApplier(store meta.Store, log *zap.Logger, m *statusMetrics) *statusApplier {
	return &statusApplier{store: store, log: log, metrics: m, in: make(chan *statusReq)}
}

// run applies queued results until ctx ends. Stop it only after every
// handler has returned.
func (a *statusApplier) run(ctx context.Context) {
	for {
		var batch []*statusReq
		select {
		case <-ctx.Done():
			return
		case r := <-a.in:
			batch = append(batch, r)
		}
	more:
		for len(batch) < statusConcurrency {
			select {
			case r := <-a.in:
				batch = append(batch, r)
			default:
				break more
			}
		}
		ups := make([]meta.ReplicationUpdate, len(batch))
		for i, r := range batch {
			ups[i] = r.u
		}
		out, err := a.store.ApplyReplication(ctx, ups)
		for i, r := range batch {
			if err != nil {
				r.done <- statusRes{err: err}
			} else {
				r.done <- statusRes{out: out[i]}
			}
		}
	}
}

// submit queues u for the next batch and waits for its outcome.
func (a *statusApplier) submit(ctx context.Context, u meta.ReplicationUpdate) (meta.ReplicationOutcome, error) {
	r := &statusReq{u: u, done: make(chan statusRes, 1)}
	select {
	case a.in <- r:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.out, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// handle is the bus handler of one replication result. A body that is not a
// status event, or a result that cannot name any version, is dead-lettered;
// a store error is retried; everything else (applied, stale, for a version
// that is gone) is acked.
func (a *statusApplier) handle(ctx context.Context, m *bus.Message) error {
	ev, err := status.Decode(m.Data)
	if err != nil {
		a.metrics.observe(meta.ReplicationInvalid)
		return bus.Permanent(fmt.Errorf("s3front: replication result: %w", err))
	}
	u := meta.ReplicationUpdate{
		Bucket: ev.Bucket, Key: ev.Key, VersionID: ev.VersionID, Destination: ev.Destination,
		Result: meta.DestinationStatus{Status: ev.Status, Sequencer: ev.Sequencer, Time: ev.Time, Error: cleanError(ev.Error)},
	}
	if ev.VersionID == "" && ev.Deleted {
		// A delete on the destination names no version: it reflects the
		// key's current state, a delete marker (or nothing at all).
		vid, ok, err := a.latestMarker(ctx, ev.Bucket, ev.Key)
		if err != nil {
			return err
		}
		if !ok {
			a.metrics.observe(meta.ReplicationNoVersion)
			return nil
		}
		u.VersionID = vid
	}
	out, err := a.submit(ctx, u)
	if err != nil {
		return fmt.Errorf("s3front: apply replication result: %w", err)
	}
	a.metrics.observe(out)
	if out == meta.ReplicationInvalid {
		return bus.Permanent(fmt.Errorf("s3front: replication result for bucket %q destination %q names no possible version", ev.Bucket, ev.Destination))
	}
	return nil
}

// latestMarker returns the version id of the key's latest version when it
// is a delete marker.
func (a *statusApplier) latestMarker(ctx context.Context, bucket, key string) (string, bool, error) {
	_, err := a.store.GetObject(ctx, bucket, key, "")
	var dm *meta.DeleteMarkerError
	switch {
	case errors.As(err, &dm):
		return dm.VersionID, true, nil
	case err == nil, errors.Is(err, meta.ErrNoSuchKey), errors.Is(err, meta.ErrNoSuchBucket), errors.Is(err, meta.ErrInvalidArgument):
		return "", false, nil
	}
	return "", false, fmt.Errorf("s3front: read %s for a replication result: %w", bucket, err)
}

// cleanError makes a failure text storable: valid UTF-8 without NUL, at most
// maxStatusError bytes.
func cleanError(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= maxStatusError {
		return s
	}
	s = s[:maxStatusError]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// runStatus consumes replication results until ctx ends: it ensures the
// SLUICE_STATUS and dead-letter streams and the StatusConsumer (retrying
// with backoff while NATS is unreachable), and runs the consume loop,
// starting it again if it ends on its own. When ctx ends it stops the loop
// (results not yet acked go back to the consumer) and returns after every
// handler has returned.
func (s *Service) runStatus(ctx context.Context, store meta.Store, b *bus.Bus) {
	a := newStatusApplier(store, s.log, s.statusM)
	batchCtx, stopBatch := context.WithCancel(context.WithoutCancel(ctx))
	batchDone := make(chan struct{})
	go func() {
		defer close(batchDone)
		a.run(batchCtx)
	}()
	defer func() {
		stopBatch()
		<-batchDone
	}()
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		loop, err := s.startStatusLoop(ctx, b, a)
		if err == nil {
			<-loop.Done()
			err = loop.Err()
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("replication results are not consumed yet; retrying", zap.Error(err), zap.Duration("wait", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// startStatusLoop ensures the streams and the consumer and starts the loop.
func (s *Service) startStatusLoop(ctx context.Context, b *bus.Bus, a *statusApplier) (*bus.Loop, error) {
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dlq := bus.DLQStreamSpec()
	if s.set.StreamReplicas > 0 {
		dlq.Replicas = s.set.StreamReplicas
	}
	for _, spec := range []bus.StreamSpec{status.StreamSpec(s.set.StreamReplicas), dlq} {
		if _, err := b.EnsureStream(actx, spec); err != nil {
			return nil, fmt.Errorf("s3front: ensure stream %s: %w", spec.Name, err)
		}
	}
	if _, err := b.EnsureConsumer(actx, statusConsumerSpec(s.set.StreamReplicas)); err != nil {
		return nil, fmt.Errorf("s3front: ensure consumer %s: %w", StatusConsumer, err)
	}
	loop, err := b.Consume(ctx, bus.ConsumeSpec{
		Stream: status.StreamName, Consumer: StatusConsumer, Handler: a.handle,
		// Only a store outage fails a handler: retry it however long it
		// lasts; undecodable results are dead-lettered at once.
		Concurrency: statusConcurrency, MaxDeliver: -1, Logger: s.log.Named("status"),
	})
	if err != nil {
		return nil, fmt.Errorf("s3front: consume %s: %w", StatusConsumer, err)
	}
	return loop, nil
}
