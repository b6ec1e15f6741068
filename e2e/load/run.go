// Package load is Sluice's S3 load generator: PUT, GET and mixed workloads against any
// S3 endpoint through aws-sdk-go-v2, reporting ops/s, MiB/s and latency quantiles.
//
// Object bodies are generated, never held: every worker owns one seekable pattern reader
// whose bytes depend on the key, so a GET can be checked against what was written without
// keeping a copy. Retries are off; every failed request counts as an error.
package load

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxErrorSamples bounds Result.ErrorSamples.
const maxErrorSamples = 5

// Run creates the bucket if it is missing, writes the key set when the workload reads,
// then runs cfg.Workload with cfg.Concurrency workers until cfg.Duration has passed or
// cfg.Ops operations were issued, and returns what it measured. Zero Config fields take
// the defaults of WithDefaults.
//
// A failed operation is counted in Result, not returned. Run returns an error wrapping
// ErrInvalidConfig for a bad Config, ErrPrepare when the bucket or key set cannot be
// created, or ctx.Err() when ctx ends before the measured phase starts; when ctx ends
// during it, Run stops early and returns the partial Result with ctx.Err().
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	client, closeIdle := NewClient(cfg)
	defer closeIdle()

	if err := ensureBucket(ctx, client, cfg.Bucket, cfg.OpTimeout); err != nil {
		return Result{}, err
	}
	if cfg.Workload != WorkloadPut && !cfg.ReuseKeys {
		if err := writeKeys(ctx, client, cfg); err != nil {
			return Result{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	r := &runner{cfg: cfg, client: client}
	start := time.Now()
	if cfg.Duration > 0 {
		r.deadline = start.Add(cfg.Duration)
	}
	workers := make([]*worker, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker(r, i)
		workers[i] = w
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	return r.result(workers, elapsed), ctx.Err()
}

// key returns the name of key number i of the key set.
func key(cfg Config, i int64) string { return Key(cfg.KeyPrefix, i) }

// Key returns the name Run gives key number i (0 <= i < Config.Keys) of the key set:
// prefix + "obj-" + i.
func Key(prefix string, i int64) string { return prefix + "obj-" + strconv.FormatInt(i, 10) }

// Content returns the bytes Run writes under key for an object of the given size, as a
// fresh reader that generates them on the fly. Tests use it to check objects independently.
func Content(key string, size int64) io.ReadSeeker {
	r := &patternReader{}
	r.Reset(key, size)
	return r
}

// ensureBucket creates bucket unless HeadBucket finds it; each request gets timeout.
func ensureBucket(ctx context.Context, client *s3.Client, bucket string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		return nil
	}
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("%w: create bucket %s: %w", ErrPrepare, bucket, err)
	}
	return nil
}

// writeKeys writes every key of the key set with cfg.Concurrency workers; the first error
// stops it.
func writeKeys(ctx context.Context, client *s3.Client, cfg Config) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, cfg.Keys) {
		wg.Go(func() {
			var body patternReader
			for {
				i := next.Add(1) - 1
				if i >= int64(cfg.Keys) || ctx.Err() != nil {
					return
				}
				opCtx, opCancel := context.WithTimeout(ctx, cfg.OpTimeout)
				err := put(opCtx, client, cfg, &body, key(cfg, i))
				opCancel()
				if err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("%w: write key set: %w", ErrPrepare, err)
	}
	return nil
}

// put writes key's content from body (reset to key).
func put(ctx context.Context, client *s3.Client, cfg Config, body *patternReader, k string) error {
	body.Reset(k, cfg.ObjectSize)
	var opts []func(*s3.Options)
	if cfg.UnsignedPayload {
		opts = append(opts, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	}
	_, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(cfg.Bucket),
		Key:           aws.String(k),
		Body:          body,
		ContentLength: aws.Int64(cfg.ObjectSize),
	}, opts...)
	if err != nil {
		return fmt.Errorf("put %s: %w", k, err)
	}
	return nil
}

// runner holds what the workers share.
type runner struct {
	cfg      Config
	client   *s3.Client
	deadline time.Time    // zero when only Ops bounds the run
	issued   atomic.Int64 // operations claimed so far

	errMu   sync.Mutex
	samples []string
}

// claim returns the number of the next operation, or false when the run is over.
func (r *runner) claim() (int64, bool) {
	if !r.deadline.IsZero() && !time.Now().Before(r.deadline) {
		return 0, false
	}
	n := r.issued.Add(1) - 1
	if r.cfg.Ops > 0 && n >= r.cfg.Ops {
		return 0, false
	}
	return n, true
}

// sampleError keeps the first few distinct error messages.
func (r *runner) sampleError(err error) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if len(r.samples) >= maxErrorSamples {
		return
	}
	msg := err.Error()
	for _, s := range r.samples {
		if s == msg {
			return
		}
	}
	r.samples = append(r.samples, msg)
}

// opCounter accumulates one kind of operation for one worker.
type opCounter struct {
	hist          *Histogram
	errors, bytes int64
}

// worker runs operations one after another; its counters are private until the run ends.
type worker struct {
	r        *runner
	rng      *rand.Rand
	body     patternReader
	buf      []byte
	gets     int
	put, get opCounter
}

func newWorker(r *runner, id int) *worker {
	return &worker{
		r:   r,
		rng: rand.New(rand.NewPCG(uint64(id), 0x5111ce)),
		buf: make([]byte, 64<<10),
		put: opCounter{hist: NewHistogram()},
		get: opCounter{hist: NewHistogram()},
	}
}

// loop issues operations until the run is over or ctx ends. An operation cut short by
// ctx is neither a success nor an error.
func (w *worker) loop(ctx context.Context) {
	cfg := w.r.cfg
	for ctx.Err() == nil {
		n, ok := w.r.claim()
		if !ok {
			return
		}
		k := key(cfg, n%int64(cfg.Keys))
		isGet := cfg.Workload == WorkloadGet || (cfg.Workload == WorkloadMixed && w.rng.Float64() < cfg.GetRatio)
		opCtx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
		start := time.Now()
		var err error
		if isGet {
			err = w.doGet(opCtx, k)
		} else {
			err = put(opCtx, w.r.client, cfg, &w.body, k)
		}
		lat := time.Since(start)
		cancel()
		c := &w.put
		if isGet {
			c = &w.get
		}
		switch {
		case err == nil:
			c.hist.Record(lat)
			c.bytes += cfg.ObjectSize
		case ctx.Err() != nil:
			return
		default:
			c.errors++
			w.r.sampleError(err)
		}
	}
}

// doGet reads k to its end, checking its content when this GET is one to verify.
func (w *worker) doGet(ctx context.Context, k string) error {
	cfg := w.r.cfg
	out, err := w.r.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(k)})
	if err != nil {
		return fmt.Errorf("get %s: %w", k, err)
	}
	defer out.Body.Close()
	w.gets++
	if cfg.VerifyEvery > 0 && w.gets%cfg.VerifyEvery == 0 {
		_, err = verifyContent(out.Body, k, cfg.ObjectSize, w.buf)
		return err
	}
	n, err := io.CopyBuffer(io.Discard, out.Body, w.buf)
	if err != nil {
		return fmt.Errorf("get %s: read body: %w", k, err)
	}
	if n != cfg.ObjectSize {
		return fmt.Errorf("%w: get %s: %d bytes, want %d", ErrContentMismatch, k, n, cfg.ObjectSize)
	}
	return nil
}

// result merges the workers' counters.
func (r *runner) result(workers []*worker, elapsed time.Duration) Result {
	cfg := r.cfg
	res := Result{
		Workload: cfg.Workload, Endpoint: cfg.Endpoint, Bucket: cfg.Bucket, ObjectSize: cfg.ObjectSize,
		Concurrency: cfg.Concurrency, Keys: cfg.Keys, Checksum: cfg.Checksum, Elapsed: elapsed,
		ErrorSamples: r.samples,
	}
	if cfg.Workload == WorkloadMixed {
		res.GetRatio = cfg.GetRatio
	}
	all, puts, gets := NewHistogram(), NewHistogram(), NewHistogram()
	var putC, getC opCounter
	for _, w := range workers {
		puts.Merge(w.put.hist)
		gets.Merge(w.get.hist)
		putC.errors += w.put.errors
		putC.bytes += w.put.bytes
		getC.errors += w.get.errors
		getC.bytes += w.get.bytes
	}
	all.Merge(puts)
	all.Merge(gets)
	stats := func(op string, h *Histogram, c opCounter) OpStats {
		s := OpStats{Op: op, Ops: int64(h.Count()), Errors: c.errors, Bytes: c.bytes, Latency: newLatency(h)}
		if sec := elapsed.Seconds(); sec > 0 {
			s.OpsPerSec = float64(s.Ops) / sec
			s.MiBPerSec = float64(s.Bytes) / (1 << 20) / sec
		}
		return s
	}
	if cfg.Workload != WorkloadGet {
		res.ByOp = append(res.ByOp, stats(OpPut, puts, putC))
	}
	if cfg.Workload != WorkloadPut {
		res.ByOp = append(res.ByOp, stats(OpGet, gets, getC))
	}
	res.Total = stats(OpTotal, all, opCounter{errors: putC.errors + getC.errors, bytes: putC.bytes + getC.bytes})
	return res
}
