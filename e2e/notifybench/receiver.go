// Package notifybench checks and measures Sluice's bucket notifications end to end,
// through real processes: a webhook Receiver on 127.0.0.1 that verifies every
// delivery's X-Sluice-Signature and records when each object key's event first
// arrived, an S3 PUT generator (Generate) that records when each PUT was acknowledged,
// open loop at a fixed rate or closed loop, and Correlate, which joins the two by key
// into PUT-acknowledged → webhook-receipt latencies.
//
// The whole-stack tests e2e/notify_*_test.go and the benchmark BenchmarkNotifyLatency
// (scripts/bench-notify.sh) use it.
package notifybench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/signature"
)

// Sentinel errors.
var (
	// ErrListen: the receiver could not listen on its address.
	ErrListen = errors.New("notifybench: cannot listen")
	// ErrInvalidConfig: a Config or GenConfig is not usable.
	ErrInvalidConfig = errors.New("notifybench: invalid configuration")
)

// maxBody bounds a delivery's body; a Sluice event record is a few KiB.
const maxBody = 1 << 20

// Mode is how the receiver answers deliveries.
type Mode int32

// Receiver modes.
const (
	// Up accepts every correctly signed delivery with 204.
	Up Mode = iota
	// Unavailable answers 503 to everything and records nothing.
	Unavailable
)

// Stats counts what a Receiver saw.
type Stats struct {
	// Requests is every request that reached the handler.
	Requests int
	// Accepted is every delivery answered 2xx (duplicates included).
	Accepted int
	// Keys is how many distinct object keys had an object event accepted.
	Keys int
	// Duplicates is how many accepted deliveries repeated an event id accepted before.
	Duplicates int
	// TestEvents is how many s3:TestEvent deliveries were accepted.
	TestEvents int
	// BadSignatures is how many requests failed signature verification (answered 401).
	BadSignatures int
	// Undecodable is how many correctly signed bodies were not S3 event records
	// (answered 400).
	Undecodable int
	// Refused is how many requests were answered 503 (mode Unavailable).
	Refused int
}

// Receiver is a webhook endpoint for a Sluice target of format binary (the S3 record as
// the JSON body) with a secret. It verifies each request's signature over the exact
// body before anything else, then records the delivery. Its handler holds no request
// longer than Hold asks and is safe for concurrent use; Start and Close must not race
// each other.
type Receiver struct {
	secret []byte
	clock  func() time.Time
	mode   atomic.Int32

	mu         sync.Mutex
	addr       string
	srv        *http.Server
	served     chan struct{}
	hold       chan struct{} // non-nil while Hold is in effect; closed by Release
	first      map[string]time.Time
	byID       map[string]int
	testEvents map[string]int // bucket → test events
	stats      Stats
	inFlight   int
}

// NewReceiver returns a receiver verifying signatures with secret; it does not listen
// until Start. A nil clock means time.Now.
func NewReceiver(secret []byte, clock func() time.Time) *Receiver {
	if clock == nil {
		clock = time.Now
	}
	return &Receiver{
		secret: secret, clock: clock, first: map[string]time.Time{}, byID: map[string]int{},
		testEvents: map[string]int{},
	}
}

// Start listens on 127.0.0.1 and serves. The first Start takes a kernel-chosen port;
// later ones (after Close) listen on the same address again, retrying while the port
// is still held, until ctx ends. It returns an error wrapping ErrListen.
func (r *Receiver) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		return nil
	}
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	for {
		var err error
		ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err == nil {
			break
		}
		if r.addr == "" || ctx.Err() != nil {
			return fmt.Errorf("%w: %s: %w", ErrListen, addr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", ErrListen, addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.addr = ln.Addr().String()
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	r.served = served
	go func(srv *http.Server) {
		defer close(served)
		_ = srv.Serve(ln) // ends with ErrServerClosed on Close
	}(r.srv)
	return nil
}

// Close stops listening and drops every connection, as a webhook that goes down
// would; held requests are released. Start serves again on the same address. Close is
// a no-op when the receiver does not run.
func (r *Receiver) Close() error {
	r.mu.Lock()
	srv, served := r.srv, r.served
	r.srv, r.served = nil, nil
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
	r.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-served
	if err != nil {
		return fmt.Errorf("notifybench: close receiver: %w", err)
	}
	return nil
}

// URL returns the delivery URL, http://127.0.0.1:PORT/hook; empty before the first
// Start.
func (r *Receiver) URL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addr == "" {
		return ""
	}
	return "http://" + r.addr + "/hook"
}

// SetMode sets how later requests are answered.
func (r *Receiver) SetMode(m Mode) { r.mode.Store(int32(m)) }

// Hold makes every accepted delivery wait, after it was recorded and before it is
// answered, until Release, Close, or the sender hangs up. It is how a test makes sure
// a process dies with deliveries in flight.
func (r *Receiver) Hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold == nil {
		r.hold = make(chan struct{})
	}
}

// Release answers every held delivery and ends Hold.
func (r *Receiver) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
}

// InFlight returns how many accepted deliveries are being answered (held ones
// included).
func (r *Receiver) InFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inFlight
}

// Stats returns the counts so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Keys = len(r.first)
	return s
}

// TestEvents returns how many s3:TestEvent deliveries about bucket were accepted.
func (r *Receiver) TestEvents(bucket string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.testEvents[bucket]
}

// Received returns when the first object event of key was accepted.
func (r *Receiver) Received(key string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.first[key]
	return at, ok
}

// Missing returns the keys (in the order given) that no accepted event named.
func (r *Receiver) Missing(keys []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, k := range keys {
		if _, ok := r.first[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// serve verifies, records and answers one delivery.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	at := r.clock()
	r.mu.Lock()
	r.stats.Requests++
	r.mu.Unlock()
	if Mode(r.mode.Load()) == Unavailable {
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, maxBody))
		r.count(func(s *Stats) { s.Refused++ })
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	body, err := signature.VerifyRequest(req, maxBody, r.secret)
	if err != nil {
		r.count(func(s *Stats) { s.BadSignatures++ })
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var rec events.Record
	key := ""
	if err = json.Unmarshal(body, &rec); err == nil && rec.EventName != events.TestEvent {
		key, err = rec.ObjectKey()
	}
	if err != nil {
		r.count(func(s *Stats) { s.Undecodable++ })
		http.Error(w, "not an S3 event record", http.StatusBadRequest)
		return
	}
	id := req.Header.Get(deliver.HeaderEventID)
	r.mu.Lock()
	r.stats.Accepted++
	r.byID[id]++
	if r.byID[id] > 1 {
		r.stats.Duplicates++
	}
	if rec.EventName == events.TestEvent {
		r.stats.TestEvents++
		r.testEvents[rec.Bucket()]++
	} else if _, seen := r.first[key]; !seen {
		r.first[key] = at
	}
	r.inFlight++
	hold := r.hold
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return // the sender is gone: nothing to answer
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Receiver) count(f func(*Stats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.stats)
}
