package replbench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events/replication/status"
)

// Status is one replication result read from SLUICE_STATUS, with the time this
// process received it.
type Status struct {
	status.Event
	// Received is when the watch received the message (this process's clock).
	Received time.Time
}

// StatusWatch collects the replication results of one bucket from the SLUICE_STATUS
// stream, from the stream's first message on, in stream order. Its methods are safe
// for concurrent use.
type StatusWatch struct {
	nc  *nats.Conn
	cc  jetstream.ConsumeContext
	mu  sync.Mutex
	evs []Status
	bad int
}

// WatchStatus starts collecting bucket's replication results; Stop ends it. It returns
// the NATS or JetStream error when Front's NATS server or the stream is unavailable.
func (d *Deployment) WatchStatus(ctx context.Context, bucket string) (*StatusWatch, error) {
	subj, err := status.Subject(bucket)
	if err != nil {
		return nil, fmt.Errorf("replbench: status subject: %w", err)
	}
	nc, err := nats.Connect(d.Front.NATSURL, nats.Name("replbench-status"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("replbench: connect %s: %w", d.Front.NATSURL, err)
	}
	w := &StatusWatch{nc: nc}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("replbench: %w", err)
	}
	cons, err := js.OrderedConsumer(ctx, status.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("replbench: status consumer: %w", err)
	}
	w.cc, err = cons.Consume(func(m jetstream.Msg) {
		now := time.Now()
		ev, err := status.Decode(m.Data())
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			w.bad++
			return
		}
		w.evs = append(w.evs, Status{Event: ev, Received: now})
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("replbench: status consume: %w", err)
	}
	return w, nil
}

// Events returns the results received so far from index from on (0: all).
func (w *StatusWatch) Events(from int) []Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	if from >= len(w.evs) {
		return nil
	}
	return append([]Status(nil), w.evs[from:]...)
}

// Len returns how many results were received.
func (w *StatusWatch) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.evs)
}

// Undecodable returns how many messages were not valid status events.
func (w *StatusWatch) Undecodable() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bad
}

// Stop ends the watch and closes its connection; the collected results stay readable.
// It is safe to call more than once.
func (w *StatusWatch) Stop() {
	if w.cc != nil {
		w.cc.Stop()
	}
	w.nc.Close()
}
