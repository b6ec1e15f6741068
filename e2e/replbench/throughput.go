package replbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/events/replication/status"
)

// ThroughputOptions configure MeasureThroughput. Zero fields take the defaults in
// brackets.
type ThroughputOptions struct {
	// Bucket is created by MeasureThroughput with a replication rule ["throughput"].
	Bucket string
	// Objects is how many objects are copied each way in each round [16].
	Objects int
	// Size of every object [64 MiB].
	Size int64
	// Concurrency is how many objects the plain copy moves at once [32, the
	// replicator's default]. Start the Deployment with the same Options.Concurrency
	// (or none, for the default) so that the replicator does too.
	Concurrency int
	// Rounds of the comparison [3]; the order of the two copies alternates between
	// rounds, so that a change in the machine's load hits both alike.
	Rounds int
	// Multipart makes the source objects multipart uploads (8 MiB parts, so their ETag
	// is not an MD5) instead of single PUTs.
	Multipart bool
	// Drain bounds the wait for the replication of one round [5m].
	Drain time.Duration
}

func (o ThroughputOptions) withDefaults() ThroughputOptions {
	if o.Bucket == "" {
		o.Bucket = "throughput"
	}
	if o.Objects <= 0 {
		o.Objects = 16
	}
	if o.Size <= 0 {
		o.Size = 64 << 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Drain <= 0 {
		o.Drain = 5 * time.Minute
	}
	return o
}

// ThroughputRound is one round of MeasureThroughput.
type ThroughputRound struct {
	// PlainFirst is true when the plain copy ran before the replication.
	PlainFirst bool `json:"plainFirst"`
	// Replication is from Resume to the last COMPLETED result received.
	Replication     time.Duration `json:"replication"`
	ReplicationMiBs float64       `json:"replicationMiBs"`
	// Plain is the streaming copy of the same objects with the same concurrency.
	Plain     time.Duration `json:"plain"`
	PlainMiBs float64       `json:"plainMiBs"`
	// Ratio is ReplicationMiBs / PlainMiBs.
	Ratio float64 `json:"ratio"`
	// Load is the load average at the end of the round.
	Load LoadAvg `json:"load"`
}

// ThroughputResult is what MeasureThroughput measured.
type ThroughputResult struct {
	Options ThroughputOptions `json:"options"`
	Rounds  []ThroughputRound `json:"rounds"`
	// ReplicationMiBs and PlainMiBs are the medians over the rounds, and Ratio the
	// median of the rounds' ratios.
	ReplicationMiBs float64 `json:"replicationMiBs"`
	PlainMiBs       float64 `json:"plainMiBs"`
	Ratio           float64 `json:"ratio"`
	// LoadBefore is the load average before the first round.
	LoadBefore LoadAvg `json:"loadBefore"`
}

// MeasureThroughput creates o.Bucket and compares, in o.Rounds rounds, replication
// with a plain copy of the same objects. Each round pauses the destination, PUTs
// o.Objects fresh objects of o.Size bytes to Sluice (o.Concurrency at once), and then,
// in alternating order,
//   - replicates them: Resume, timed to the last COMPLETED result received;
//   - copies them to MinIO under "plain/": GetObject from Sluice streamed into the
//     transfer manager's UploadObject (its defaults: 8 MiB parts, 5 at once per
//     object), o.Concurrency objects at once.
//
// It checks the size of every replica and copy on MinIO. Errors wrap ErrIncomplete
// when objects were not replicated within o.Drain.
func MeasureThroughput(ctx context.Context, d *Deployment, o ThroughputOptions) (ThroughputResult, error) {
	o = o.withDefaults()
	res := ThroughputResult{Options: o, LoadBefore: loadNow()}
	if err := d.CreateBucket(ctx, o.Bucket); err != nil {
		return res, err
	}
	watch, err := d.WatchStatus(ctx, o.Bucket)
	if err != nil {
		return res, err
	}
	defer watch.Stop()
	tm := transfermanager.New(d.Dest)
	mib := float64(int64(o.Objects)*o.Size) / (1 << 20)
	var repl, plain, ratios []float64
	for r := range o.Rounds {
		if err := d.Pause(ctx); err != nil {
			return res, err
		}
		if err := d.waitRunning(ctx, false); err != nil {
			return res, err
		}
		keys := make([]string, o.Objects)
		for i := range keys {
			keys[i] = fmt.Sprintf("big/%d/%04d", r, i)
		}
		if err := forEach(ctx, keys, o.Concurrency, func(ctx context.Context, k string) error {
			return d.putSource(ctx, o.Bucket, k, o.Size, o.Multipart)
		}); err != nil {
			return res, err
		}
		round := ThroughputRound{PlainFirst: r%2 == 1}
		if round.PlainFirst {
			if round.Plain, err = d.plainCopy(ctx, tm, o, keys); err != nil {
				return res, err
			}
		}
		if round.Replication, err = d.replicate(ctx, watch, o, keys); err != nil {
			return res, err
		}
		if !round.PlainFirst {
			if round.Plain, err = d.plainCopy(ctx, tm, o, keys); err != nil {
				return res, err
			}
		}
		round.ReplicationMiBs = mib / round.Replication.Seconds()
		round.PlainMiBs = mib / round.Plain.Seconds()
		round.Ratio = round.ReplicationMiBs / round.PlainMiBs
		round.Load = loadNow()
		res.Rounds = append(res.Rounds, round)
		repl, plain, ratios = append(repl, round.ReplicationMiBs), append(plain, round.PlainMiBs), append(ratios, round.Ratio)
	}
	res.ReplicationMiBs, res.PlainMiBs, res.Ratio = median(repl), median(plain), median(ratios)
	return res, nil
}

// replicate resumes the paused destination and returns the time from Resume to the
// last COMPLETED result for keys; then it checks the replicas' sizes.
func (d *Deployment) replicate(ctx context.Context, watch *StatusWatch, o ThroughputOptions, keys []string) (time.Duration, error) {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	read := watch.Len() // results of earlier rounds are not this round's
	start := time.Now()
	if err := d.Resume(ctx); err != nil {
		return 0, err
	}
	var last time.Time
	deadline := time.Now().Add(o.Drain)
	for len(want) > 0 {
		for _, ev := range watch.Events(read) {
			read++
			if ev.Status == status.Completed && want[ev.Key] {
				delete(want, ev.Key)
				last = ev.Received
			}
		}
		if len(want) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%w: %d of %d objects not replicated after %s", ErrIncomplete, len(want), len(keys), o.Drain)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	took := last.Sub(start)
	return took, d.checkSizes(ctx, "", keys, o.Size)
}

// plainCopy copies keys from Sluice to MinIO under "plain/", o.Concurrency at once,
// and returns how long it took; then it checks the copies' sizes.
func (d *Deployment) plainCopy(ctx context.Context, tm *transfermanager.Client, o ThroughputOptions, keys []string) (time.Duration, error) {
	start := time.Now()
	if err := forEach(ctx, keys, o.Concurrency, func(ctx context.Context, k string) error {
		out, err := d.Source.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(k)})
		if err != nil {
			return fmt.Errorf("replbench: plain copy: get %s: %w", k, err)
		}
		defer out.Body.Close()
		if _, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String(DestBucket), Key: aws.String("plain/" + k),
			Body: out.Body, ContentLength: out.ContentLength, ContentType: out.ContentType}); err != nil {
			return fmt.Errorf("replbench: plain copy: upload %s: %w", k, err)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	took := time.Since(start)
	return took, d.checkSizes(ctx, "plain/", keys, o.Size)
}

// median returns the median of xs (the mean of the middle two for an even count),
// or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// forEach runs fn for every key, at most n at once, and returns the first error.
func forEach(ctx context.Context, keys []string, n int, fn func(context.Context, string) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, k := range keys {
		g.Go(func() error { return fn(gctx, k) })
	}
	return g.Wait()
}

// putSource writes key to bucket on Sluice: load.Content(key, size), with one PUT or
// as a multipart upload of 8 MiB parts.
func (d *Deployment) putSource(ctx context.Context, bucket, key string, size int64, multipart bool) error {
	if !multipart {
		if _, err := d.Source.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: load.Content(key, size), ContentLength: aws.Int64(size)}); err != nil {
			return fmt.Errorf("replbench: put %s: %w", key, err)
		}
		return nil
	}
	const part = 8 << 20
	cu, err := d.Source.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("replbench: create multipart upload %s: %w", key, err)
	}
	var parts []types.CompletedPart
	for num, off := int32(1), int64(0); off < size; num, off = num+1, off+part {
		n := min(part, size-off)
		up, err := d.Source.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cu.UploadId,
			PartNumber: aws.Int32(num), Body: &sectionSeeker{r: load.Content(key, size), off: off, n: n}, ContentLength: aws.Int64(n)})
		if err != nil {
			return fmt.Errorf("replbench: upload part %d of %s: %w", num, key, err)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(num)})
	}
	if _, err := d.Source.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
		UploadId: cu.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		return fmt.Errorf("replbench: complete multipart upload %s: %w", key, err)
	}
	return nil
}

// sectionSeeker is the n bytes of r from off, as an io.ReadSeeker (the SDK signs the
// payload, so an upload body over plain HTTP must be seekable). It owns r and is not
// safe for concurrent use.
type sectionSeeker struct {
	r      io.ReadSeeker
	off, n int64
	pos    int64
}

func (s *sectionSeeker) Read(p []byte) (int, error) {
	if s.pos >= s.n {
		return 0, io.EOF
	}
	if _, err := s.r.Seek(s.off+s.pos, io.SeekStart); err != nil {
		return 0, err
	}
	p = p[:min(int64(len(p)), s.n-s.pos)]
	n, err := s.r.Read(p)
	s.pos += int64(n)
	return n, err
}

func (s *sectionSeeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.n
	default:
		return 0, fmt.Errorf("replbench: seek whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("replbench: seek to %d", offset)
	}
	s.pos = offset
	return offset, nil
}

// checkSizes checks that every key (under prefix) exists on MinIO with size bytes.
func (d *Deployment) checkSizes(ctx context.Context, prefix string, keys []string, size int64) error {
	for _, k := range keys {
		out, err := d.Dest.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(DestBucket), Key: aws.String(prefix + k)})
		if err != nil {
			return fmt.Errorf("replbench: %s%s on MinIO: %w", prefix, k, err)
		}
		if n := aws.ToInt64(out.ContentLength); n != size {
			return fmt.Errorf("%w: %s%s on MinIO has %d bytes, want %d", ErrIncomplete, prefix, k, n, size)
		}
	}
	return nil
}

// waitRunning polls the replicator's admin API until the "minio" destination's
// consumer loop is running (or, with want false, stopped).
func (d *Deployment) waitRunning(ctx context.Context, want bool) error {
	url := d.Replicator.HTTPURL + "/admin/replication/destinations/" + Location
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrAdmin, err)
		}
		var st struct {
			Running bool `json:"running"`
		}
		resp, err := client.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && st.Running == want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: destination running=%t not reached: %v", ErrAdmin, want, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
