package replbench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/events/replication/status"
)

// ErrIncomplete is returned by the measurements when objects were not replicated
// before the drain deadline, or PUTs failed.
var ErrIncomplete = errors.New("replbench: measurement incomplete")

// LagOptions configure MeasureLag. Zero fields take the defaults in brackets.
type LagOptions struct {
	// Bucket is created by MeasureLag with a replication rule to "minio" ["lag"].
	Bucket string
	// Rate is the offered PUT rate per second [200].
	Rate float64
	// Duration of the offered load [60s].
	Duration time.Duration
	// Size of every object [64 KiB].
	Size int64
	// Workers is how many PUTs may be in flight at once [64]; when all are busy,
	// PUTs start late and the lateness counts in the PUT latency.
	Workers int
	// Drain bounds the wait for the last results after the load ends [2m].
	Drain time.Duration
}

func (o LagOptions) withDefaults() LagOptions {
	if o.Bucket == "" {
		o.Bucket = "lag"
	}
	if o.Rate <= 0 {
		o.Rate = 200
	}
	if o.Duration <= 0 {
		o.Duration = time.Minute
	}
	if o.Size <= 0 {
		o.Size = 64 << 10
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Drain <= 0 {
		o.Drain = 2 * time.Minute
	}
	return o
}

// Quantiles summarise a latency distribution.
type Quantiles struct {
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

func quantiles(h *load.Histogram) Quantiles {
	if h.Count() == 0 {
		return Quantiles{}
	}
	return Quantiles{P50: h.Quantile(0.5), P90: h.Quantile(0.9), P99: h.Quantile(0.99), Max: h.Max()}
}

// String formats the quantiles in milliseconds.
func (q Quantiles) String() string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms", ms(q.P50), ms(q.P90), ms(q.P99), ms(q.Max))
}

// LagResult is what MeasureLag measured.
type LagResult struct {
	Options LagOptions `json:"options"`
	// Scheduled PUTs, Acked of them, Errors (failed PUTs).
	Scheduled int `json:"scheduled"`
	Acked     int `json:"acked"`
	Errors    int `json:"errors"`
	// AchievedRate is acknowledged PUTs per second from the first due time to the
	// last acknowledgment.
	AchievedRate float64 `json:"achievedRate"`
	// Late counts PUTs that started more than 10 ms after their due time.
	Late int `json:"late"`
	// Put is the PUT latency from the due time (not the start) to the
	// acknowledgment, so queueing behind busy workers is included.
	Put Quantiles `json:"put"`
	// Replicated counts acknowledged PUTs with a COMPLETED result.
	Replicated int `json:"replicated"`
	// Lag is from the PUT's acknowledgment to this process receiving its COMPLETED
	// status event on SLUICE_STATUS (the replica was written before it was sent).
	Lag Quantiles `json:"lag"`
	// ReplicatorLag is the replicator's own lagSeconds of those results: the source
	// event's time to the replica written.
	ReplicatorLag Quantiles `json:"replicatorLag"`
	// Windows break the run down by due time, 10 seconds each, to show whether lag
	// builds up or comes in bursts.
	Windows []LagWindow `json:"windows"`
	// LoadBefore and LoadAfter are the load averages around the run.
	LoadBefore LoadAvg `json:"loadBefore"`
	LoadAfter  LoadAvg `json:"loadAfter"`
}

// LagWindow is one 10-second slice of a lag run, by the PUTs' due time.
type LagWindow struct {
	// Start is the offset of the window from the run's start.
	Start time.Duration `json:"start"`
	// Acked PUTs due in the window, and their replication lag and PUT latency.
	Acked int       `json:"acked"`
	Lag   Quantiles `json:"lag"`
	Put   Quantiles `json:"put"`
}

// lagWindow is the length of a LagWindow.
const lagWindow = 10 * time.Second

// MeasureLag creates o.Bucket, offers o.Rate PUTs per second of o.Size-byte objects
// for o.Duration on a fixed schedule, then waits up to o.Drain for every acknowledged
// object's COMPLETED result and returns the figures. It returns the result with an
// error wrapping ErrIncomplete when PUTs failed or results were missing at the end.
func MeasureLag(ctx context.Context, d *Deployment, o LagOptions) (LagResult, error) {
	o = o.withDefaults()
	res := LagResult{Options: o}
	if err := d.CreateBucket(ctx, o.Bucket); err != nil {
		return res, err
	}
	watch, err := d.WatchStatus(ctx, o.Bucket)
	if err != nil {
		return res, err
	}
	defer watch.Stop()

	total := int(o.Rate * o.Duration.Seconds())
	res.Scheduled = total
	period := time.Duration(float64(time.Second) / o.Rate)
	acked := make([]time.Time, total) // zero: not acknowledged
	jobs := make(chan int, total)
	var (
		mu     sync.Mutex
		putH   = load.NewHistogram()
		late   int
		errs   int
		lastOK time.Time
		wg     sync.WaitGroup
	)
	res.LoadBefore = loadNow()
	start := time.Now().Add(50 * time.Millisecond)
	due := func(i int) time.Time { return start.Add(time.Duration(i) * period) }
	for range o.Workers {
		wg.Go(func() {
			h := load.NewHistogram()
			var myLate, myErrs int
			var myLast time.Time
			for i := range jobs {
				began := time.Now()
				if began.Sub(due(i)) > 10*time.Millisecond {
					myLate++
				}
				key := lagKey(i)
				_, err := d.Source.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(key),
					Body: load.Content(key, o.Size), ContentLength: aws.Int64(o.Size)})
				now := time.Now()
				if err != nil {
					myErrs++
					continue
				}
				acked[i] = now
				h.Record(now.Sub(due(i)))
				if now.After(myLast) {
					myLast = now
				}
			}
			mu.Lock()
			putH.Merge(h)
			late += myLate
			errs += myErrs
			if myLast.After(lastOK) {
				lastOK = myLast
			}
			mu.Unlock()
		})
	}
	// The schedule: job i is handed out at its due time whatever the workers do.
	timer := time.NewTimer(time.Until(start))
	for i := 0; i < total; i++ {
		if wait := time.Until(due(i)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				i = total
				continue
			case <-timer.C:
			}
		}
		jobs <- i
	}
	timer.Stop()
	close(jobs)
	wg.Wait()
	res.LoadAfter = loadNow()
	res.Late, res.Errors = late, errs
	res.Put = quantiles(putH)
	for _, t := range acked {
		if !t.IsZero() {
			res.Acked++
		}
	}
	if !lastOK.IsZero() {
		res.AchievedRate = float64(res.Acked) / lastOK.Sub(start).Seconds()
	}

	// Drain: wait for a COMPLETED result of every acknowledged key.
	index := make(map[string]int, total)
	for i := range total {
		index[lagKey(i)] = i
	}
	done := make([]time.Time, total)
	repl := load.NewHistogram()
	lagH := load.NewHistogram()
	seen, read := 0, 0
	deadline := time.Now().Add(o.Drain)
	for {
		for _, ev := range watch.Events(read) {
			read++
			i, ok := index[ev.Key]
			if !ok || ev.Status != status.Completed || acked[i].IsZero() || !done[i].IsZero() {
				continue
			}
			done[i] = ev.Received
			seen++
			lagH.Record(max(ev.Received.Sub(acked[i]), 0))
			repl.Record(time.Duration(ev.LagSeconds * float64(time.Second)))
		}
		if seen >= res.Acked || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.Replicated = seen
	res.Lag, res.ReplicatorLag = quantiles(lagH), quantiles(repl)
	for w := time.Duration(0); w < o.Duration; w += lagWindow {
		lh, ph := load.NewHistogram(), load.NewHistogram()
		for i := range total {
			if at := due(i).Sub(start); at < w || at >= w+lagWindow || acked[i].IsZero() {
				continue
			}
			ph.Record(acked[i].Sub(due(i)))
			if !done[i].IsZero() {
				lh.Record(max(done[i].Sub(acked[i]), 0))
			}
		}
		res.Windows = append(res.Windows, LagWindow{Start: w, Acked: int(ph.Count()), Lag: quantiles(lh), Put: quantiles(ph)})
	}
	if res.Errors > 0 || res.Replicated < res.Acked {
		return res, fmt.Errorf("%w: %d PUTs failed, %d of %d acknowledged objects replicated", ErrIncomplete, res.Errors, res.Replicated, res.Acked)
	}
	return res, nil
}

// lagKey is the key of MeasureLag's i-th object.
func lagKey(i int) string { return fmt.Sprintf("lag/%07d", i) }
