package notifybench

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// LateAfter is how far behind its schedule an open-loop PUT is counted Late.
const LateAfter = 10 * time.Millisecond

// Generator defaults.
const (
	DefaultSize            = 1024
	DefaultOpTimeout       = 30 * time.Second
	DefaultClosedWorkers   = 16
	DefaultOpenMaxInFlight = 512
)

// GenConfig describes one PUT run. Client, Bucket and Count are required.
type GenConfig struct {
	// Client writes the objects; it should not retry (load.NewClient), so that an
	// acknowledgement time is that of one request.
	Client *s3.Client
	// Bucket receives the objects; it must exist.
	Bucket string
	// KeyPrefix starts every key: KeyPrefix + six-digit index.
	KeyPrefix string
	// Count is how many PUTs to send (each a new key).
	Count int
	// Rate, when positive, sends PUTs open loop: PUT i is due at start + i/Rate,
	// whatever earlier PUTs do (a slow server does not slow the schedule, it only
	// builds up requests in flight). Zero sends them closed loop: Concurrency workers,
	// each sending its next PUT when the last one answered.
	Rate float64
	// Concurrency is the closed loop's worker count (default DefaultClosedWorkers), or
	// the open loop's bound on PUTs in flight (default DefaultOpenMaxInFlight); a PUT
	// that finds the bound reached waits (and may be counted Late).
	Concurrency int
	// Size is each object's size in bytes; zero means DefaultSize.
	Size int
	// OpTimeout bounds each PUT; zero means DefaultOpTimeout.
	OpTimeout time.Duration
	// Clock tells the time; nil means time.Now. Use the receiver's clock.
	Clock func() time.Time
}

// PutResult is one PUT.
type PutResult struct {
	Key string
	// Sent is when the request started; Acked when its 2xx answer arrived (zero when
	// it failed).
	Sent, Acked time.Time
	// Err is the failure, or nil.
	Err error
}

// GenResult is what a run did.
type GenResult struct {
	// Puts are every PUT, in key order.
	Puts []PutResult
	// Acked and Failed count the PUTs by outcome.
	Acked, Failed int
	// Late counts open-loop PUTs sent more than LateAfter behind schedule: the
	// generator (or the bound on PUTs in flight) could not keep the rate.
	Late int
	// IssueRate is PUTs sent per second, first to last send.
	IssueRate float64
	// AckRate is PUTs acknowledged per second, first send to last acknowledgement.
	AckRate float64
	// Elapsed is the first send to the last answer.
	Elapsed time.Duration
}

// Keys returns the keys of the acknowledged PUTs.
func (g GenResult) Keys() []string {
	out := make([]string, 0, g.Acked)
	for _, p := range g.Puts {
		if p.Err == nil {
			out = append(out, p.Key)
		}
	}
	return out
}

// PutLatencies returns the duration of every acknowledged PUT.
func (g GenResult) PutLatencies() []time.Duration {
	out := make([]time.Duration, 0, g.Acked)
	for _, p := range g.Puts {
		if p.Err == nil {
			out = append(out, p.Acked.Sub(p.Sent))
		}
	}
	return out
}

// FirstErr returns the first failure, or nil.
func (g GenResult) FirstErr() error {
	for _, p := range g.Puts {
		if p.Err != nil {
			return fmt.Errorf("PUT %s: %w", p.Key, p.Err)
		}
	}
	return nil
}

// Key returns the key of PUT i of a run with prefix.
func Key(prefix string, i int) string { return fmt.Sprintf("%s%06d", prefix, i) }

// Generate runs cfg and returns every PUT's outcome. It returns early, with the PUTs
// sent so far, when ctx ends (their error then says so). It returns an error wrapping
// ErrInvalidConfig for an unusable cfg; PUT failures are in the result, not errors.
func Generate(ctx context.Context, cfg GenConfig) (GenResult, error) {
	if cfg.Client == nil || cfg.Bucket == "" || cfg.Count <= 0 || cfg.Rate < 0 || cfg.Concurrency < 0 || cfg.Size < 0 || cfg.OpTimeout < 0 {
		return GenResult{}, fmt.Errorf("%w: need a client, a bucket, a positive count and no negative setting", ErrInvalidConfig)
	}
	if cfg.Size == 0 {
		cfg.Size = DefaultSize
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultClosedWorkers
		if cfg.Rate > 0 {
			cfg.Concurrency = DefaultOpenMaxInFlight
		}
	}
	body := bytes.Repeat([]byte("n"), cfg.Size)
	puts := make([]PutResult, cfg.Count)
	put := func(i int) {
		p := &puts[i]
		p.Key = Key(cfg.KeyPrefix, i)
		p.Sent = cfg.Clock()
		if err := ctx.Err(); err != nil {
			p.Err = err
			return
		}
		octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
		_, err := cfg.Client.PutObject(octx, &s3.PutObjectInput{
			Bucket: aws.String(cfg.Bucket), Key: aws.String(p.Key),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(cfg.Size)),
		})
		cancel()
		if err != nil {
			p.Err = err
			return
		}
		p.Acked = cfg.Clock()
	}
	late := 0
	var wg sync.WaitGroup
	if cfg.Rate > 0 {
		late = openLoop(ctx, cfg, put, &wg)
	} else {
		var next atomic.Int64
		for range min(cfg.Concurrency, cfg.Count) {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < cfg.Count; i = int(next.Add(1) - 1) {
					put(i)
				}
			})
		}
	}
	wg.Wait()
	return summarize(puts, late), nil
}

// openLoop sends PUT i at start + i/Rate, each in its own goroutine, at most
// cfg.Concurrency at once, and returns how many were late (LateAfter). Every PUT index gets a
// result, also when ctx ends early.
func openLoop(ctx context.Context, cfg GenConfig, put func(int), wg *sync.WaitGroup) int {
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	sem := make(chan struct{}, cfg.Concurrency)
	start := cfg.Clock()
	late := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range cfg.Count {
		due := start.Add(time.Duration(i) * interval)
		if wait := due.Sub(cfg.Clock()); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			sem <- struct{}{} // put records ctx's error without sending
		}
		if cfg.Clock().Sub(due) > LateAfter {
			late++
		}
		wg.Go(func() {
			defer func() { <-sem }()
			put(i)
		})
	}
	return late
}

// summarize counts a run's outcomes and rates.
func summarize(puts []PutResult, late int) GenResult {
	g := GenResult{Puts: puts, Late: late}
	var first, lastSent, lastDone time.Time
	for _, p := range puts {
		if first.IsZero() || p.Sent.Before(first) {
			first = p.Sent
		}
		if p.Sent.After(lastSent) {
			lastSent = p.Sent
		}
		if p.Err != nil {
			g.Failed++
			continue
		}
		g.Acked++
		if p.Acked.After(lastDone) {
			lastDone = p.Acked
		}
	}
	if d := lastSent.Sub(first); d > 0 && len(puts) > 1 {
		g.IssueRate = float64(len(puts)-1) / d.Seconds()
	}
	if d := lastDone.Sub(first); d > 0 {
		g.AckRate = float64(g.Acked) / d.Seconds()
		g.Elapsed = d
	}
	return g
}

// Summary is a set of durations reduced to what a report needs.
type Summary struct {
	N                  int
	Min, P50, P99, Max time.Duration
}

// String prints the summary in milliseconds.
func (s Summary) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("n=%d p50=%s p99=%s min=%s max=%s", s.N, ms(s.P50), ms(s.P99), ms(s.Min), ms(s.Max))
}

// Summarize returns the count, extremes and the 50th and 99th percentiles (nearest
// rank) of ds; the zero Summary when ds is empty.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Summary{N: len(s), Min: s[0], P50: rank(0.50), P99: rank(0.99), Max: s[len(s)-1]}
}

// Correlate joins a run's acknowledged PUTs with the receiver's first receipt of each
// key: it returns the acknowledgement → receipt latencies, the keys never received,
// and how many arrived before their PUT's answer did (possible: the event is published
// as the PUT commits, concurrently with the answer; those count as 0).
func Correlate(g GenResult, r *Receiver) (lat []time.Duration, missing []string, early int) {
	lat = make([]time.Duration, 0, g.Acked)
	for _, p := range g.Puts {
		if p.Err != nil {
			continue
		}
		at, ok := r.Received(p.Key)
		if !ok {
			missing = append(missing, p.Key)
			continue
		}
		d := at.Sub(p.Acked)
		if d < 0 {
			early++
			d = 0
		}
		lat = append(lat, d)
	}
	return lat, missing, early
}
