package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/peers"
	"github.com/sluice-io/sluice/e2e/replbench"
	"github.com/sluice-io/sluice/events/replication/status"
)

// Metrics of the replicator process the kill test watches.
var (
	metricCopies    = `sluice_replication_copies_in_flight{destination="` + replbench.Location + `"}`
	metricCopyBytes = `sluice_replication_copy_bytes_in_flight{destination="` + replbench.Location + `"}`
)

// Metadata key the replicator sets on every replica (replicator.MetaSourceVersion).
const metaSourceVersion = "sluice-source-version"

// replicaState is what a key should hold on the destination after replication: the
// last acknowledged write of the key, or nothing after an acknowledged delete.
type replicaState struct {
	present     bool
	size        int64
	sha256      string
	contentType string
	meta        map[string]string
	versionID   string
	multipart   bool
}

// replModel is what the writers have had acknowledged, per key. Every key belongs to
// one writer, which writes it sequentially, so the last acknowledgment is the state.
type replModel struct {
	mu                           sync.Mutex
	keys                         map[string]replicaState
	puts, multiparts, deletes, n int
}

func (m *replModel) set(key string, s replicaState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[key] = s
	m.n++
	switch {
	case !s.present:
		m.deletes++
	case s.multipart:
		m.multiparts++
	default:
		m.puts++
	}
}

func (m *replModel) multipartAcked() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.multiparts
}

func (m *replModel) acked() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

func (m *replModel) snapshot() map[string]replicaState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.keys)
}

// TestReplicatorSIGKILLConverges runs `sluice run s3front` (embedded NATS, fs storage)
// and `sluice run replicator` as separate processes replicating a versioned bucket to
// MinIO. Writers PUT small objects and 12 MiB multipart objects (5 MiB parts), overwrite
// and delete some, without pause, while the replicator process is SIGKILLed several
// times with copies in flight (some while a multipart-sized copy runs) and started
// again. Afterwards MinIO must hold exactly the last acknowledged state of every key:
// the same bytes (SHA-256 of the replica read back), content type, user metadata and
// source version, and no replica of a deleted key; and SLUICE_STATUS must hold a
// COMPLETED result for that state of every key and no FAILED one.
func TestReplicatorSIGKILLConverges(t *testing.T) {
	skipShort(t)
	const (
		bucket      = "replicated"
		kills       = 4
		smallMax    = 192 << 10
		bigSize     = 12 << 20
		partSize    = 5 << 20
		bigKeys     = 4 // multipart objects overwrite each other under this many keys
		bigWrites   = 6 // multipart uploads to see acknowledged (so some overwrite)
		bigInterval = 800 * time.Millisecond
		afterKill   = 10 // acknowledged writes while the replicator is down
		finalWrites = 30 // acknowledged writes after the last restart before writers stop
		deadline    = 90 * time.Second
	)
	minio := peers.StartTest(t, peers.MinIO)
	bin := sluiceBin.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d, err := replbench.Start(ctx, replbench.Options{Bin: bin, Dir: t.TempDir(), MinIO: minio,
		Concurrency: 4, AckWait: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replicator log tail:\n%s", d.Replicator.LogTail(6000))
			t.Logf("s3front log tail:\n%s", d.Front.LogTail(3000))
		}
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("stop deployment: %v", err)
		}
	})
	if err := d.CreateBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	watch, err := d.WatchStatus(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(watch.Stop)

	// Writers finish the operation they are in when stopped, so that every write
	// s3front committed is in the model.
	model := &replModel{keys: map[string]replicaState{}}
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopWriters := func() { stopOnce.Do(func() { close(stop) }) }
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			if err := writeSmall(ctx, stop, d.Source, bucket, w, smallMax, model); err != nil {
				t.Errorf("small writer %d: %v", w, err)
			}
		})
	}
	wg.Go(func() {
		if err := writeBig(ctx, stop, d.Source, bucket, bigSize, partSize, bigKeys, bigInterval, model); err != nil {
			t.Errorf("multipart writer: %v", err)
		}
	})
	t.Cleanup(func() { stopWriters(); wg.Wait() })

	for round := 1; round <= kills; round++ {
		// Odd rounds kill with any copy in flight, even rounds while a multipart-sized
		// object is being copied.
		wantBytes := 1.0
		if round%2 == 0 {
			wantBytes = bigSize
		}
		var copies, copyBytes float64
		waitFor(t, deadline, fmt.Sprintf("round %d: a copy of >= %.0f bytes in flight", round, wantBytes), func() error {
			c, err := d.Replicator.Metric(ctx, metricCopies)
			if err != nil {
				return err
			}
			b, err := d.Replicator.Metric(ctx, metricCopyBytes)
			if err != nil {
				return err
			}
			if c < 1 || b < wantBytes {
				return fmt.Errorf("%v copies, %v bytes in flight", c, b)
			}
			copies, copyBytes = c, b
			return nil
		})
		d.Replicator.Kill()
		at := model.acked()
		t.Logf("round %d: SIGKILL with %v copies (%v bytes) in flight, %d writes acknowledged", round, copies, copyBytes, at)
		waitFor(t, deadline, "writes while the replicator is down", func() error {
			if n := model.acked(); n < at+afterKill {
				return fmt.Errorf("%d acknowledged", n)
			}
			return nil
		})
		if err := d.Replicator.Start(ctx); err != nil {
			t.Fatalf("restart %d: %v", round, err)
		}
	}
	at := model.acked()
	waitFor(t, deadline, "writes after the last restart", func() error {
		if n, mp := model.acked(), model.multipartAcked(); n < at+finalWrites || mp < bigWrites {
			return fmt.Errorf("%d acknowledged, %d of them multipart", n, mp)
		}
		return nil
	})
	stopWriters()
	wg.Wait()
	if t.Failed() {
		return
	}
	want := model.snapshot()
	t.Logf("%d keys; %d PUTs, %d multipart uploads, %d deletes acknowledged", len(want), model.puts, model.multiparts, model.deletes)

	// Converged: the destination lists exactly the present keys with their sizes.
	var tmp int
	waitFor(t, deadline, "the destination to list every present key and no other", func() error {
		got, n, err := listReplicas(ctx, d.Dest)
		if err != nil {
			return err
		}
		tmp = n
		for k, s := range want {
			size, ok := got[k]
			switch {
			case s.present && !ok:
				return fmt.Errorf("%q missing", k)
			case s.present && size != s.size:
				return fmt.Errorf("%q has %d bytes, want %d", k, size, s.size)
			case !s.present && ok:
				return fmt.Errorf("%q still there after its delete", k)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				return fmt.Errorf("unexpected replica %q", k)
			}
		}
		return nil
	})
	t.Logf("destination converged (%d leftover temporary objects under .sluice-tmp/)", tmp)

	for _, k := range slices.Sorted(maps.Keys(want)) {
		if s := want[k]; s.present {
			if err := checkReplica(ctx, d.Dest, k, s); err != nil {
				t.Error(err)
			}
		}
	}

	// Every final state has its COMPLETED result; nothing FAILED.
	waitFor(t, deadline, "a COMPLETED status for every key's final state", func() error {
		done := map[string]bool{}
		for _, ev := range watch.Events(0) {
			if ev.Status == status.Completed && ev.Destination == replbench.Location {
				done[statusKey(ev.Key, ev.VersionID, ev.Deleted)] = true
			}
		}
		for k, s := range want {
			if !done[statusKey(k, s.versionID, !s.present)] {
				return fmt.Errorf("no COMPLETED status for %q (version %q, deleted %t)", k, s.versionID, !s.present)
			}
		}
		return nil
	})
	evs := watch.Events(0)
	for _, ev := range evs {
		if ev.Status != status.Completed {
			t.Errorf("status %s for %q version %q: %s", ev.Status, ev.Key, ev.VersionID, ev.Error)
		}
	}
	if n := watch.Undecodable(); n > 0 {
		t.Errorf("%d undecodable messages on SLUICE_STATUS", n)
	}
	t.Logf("%d status events", len(evs))
}

func statusKey(key, version string, deleted bool) string {
	if deleted {
		return key + "\x00deleted"
	}
	return key + "\x00" + version
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// writeSmall writes keys s<w>/<n> of random sizes up to maxSize until stop is closed;
// every fourth operation overwrites one of its earlier keys and every fifth deletes
// one. Every operation must succeed.
func writeSmall(ctx context.Context, stop <-chan struct{}, c *s3.Client, bucket string, w int, maxSize int64, m *replModel) error {
	rng := rand.New(rand.NewPCG(uint64(w), 42))
	var live []string
	for n := 0; !stopped(stop); n++ {
		switch {
		case n%5 == 4 && len(live) > 0:
			i := rng.IntN(len(live))
			key := live[i]
			live = slices.Delete(live, i, i+1)
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
				return fmt.Errorf("delete %s: %w", key, err)
			}
			m.set(key, replicaState{})
			continue
		}
		key := fmt.Sprintf("s%d/%05d", w, n)
		if n%4 == 3 && len(live) > 0 {
			key = live[rng.IntN(len(live))]
		} else {
			live = append(live, key)
		}
		size := 1 + rng.Int64N(maxSize)
		ck := key + "@" + strconv.Itoa(n)
		sum, err := contentSHA(ck, size)
		if err != nil {
			return err
		}
		s := replicaState{present: true, size: size, sha256: sum, contentType: fmt.Sprintf("application/x-e2e-%d", w),
			meta: map[string]string{"writer": strconv.Itoa(w), "gen": strconv.Itoa(n)}}
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: load.Content(ck, size), ContentLength: aws.Int64(size), ContentType: aws.String(s.contentType), Metadata: s.meta})
		if err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		s.versionID = aws.ToString(out.VersionId)
		m.set(key, s)
	}
	return nil
}

// writeBig writes multipart objects of size bytes in parts of partSize under m/<n % keys>
// (so later ones overwrite earlier ones), at most one per interval, until stop is
// closed. Every operation must succeed.
func writeBig(ctx context.Context, stop <-chan struct{}, c *s3.Client, bucket string, size, partSize int64, keys int, interval time.Duration, m *replModel) error {
	buf := make([]byte, partSize)
	pace := time.NewTicker(interval)
	defer pace.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-pace.C:
		}
		key := fmt.Sprintf("m/%03d", n%keys)
		s := replicaState{present: true, size: size, contentType: "application/x-e2e-multipart",
			meta: map[string]string{"writer": "multipart", "gen": strconv.Itoa(n)}, multipart: true}
		cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
			ContentType: aws.String(s.contentType), Metadata: s.meta})
		if err != nil {
			return fmt.Errorf("create multipart upload %s: %w", key, err)
		}
		body := load.Content(key+"@"+strconv.Itoa(n), size)
		h := sha256.New()
		var parts []types.CompletedPart
		for num, off := int32(1), int64(0); off < size; num, off = num+1, off+partSize {
			p := buf[:min(partSize, size-off)]
			if _, err := io.ReadFull(body, p); err != nil {
				return err
			}
			h.Write(p)
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key),
				UploadId: cu.UploadId, PartNumber: aws.Int32(num), Body: bytes.NewReader(p), ContentLength: aws.Int64(int64(len(p)))})
			if err != nil {
				return fmt.Errorf("upload part %d of %s: %w", num, key, err)
			}
			parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(num)})
		}
		out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
			UploadId: cu.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			return fmt.Errorf("complete multipart upload %s: %w", key, err)
		}
		s.sha256, s.versionID = hex.EncodeToString(h.Sum(nil)), aws.ToString(out.VersionId)
		m.set(key, s)
	}
}

// contentSHA returns the SHA-256 of load.Content(key, size).
func contentSHA(key string, size int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, load.Content(key, size)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// listReplicas returns key → size of every object in the destination bucket, and the
// number of objects under the s3 driver's temporary prefix, which it leaves out.
func listReplicas(ctx context.Context, c *s3.Client) (map[string]int64, int, error) {
	out := map[string]int64{}
	tmp := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(replbench.DestBucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, 0, err
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if strings.HasPrefix(k, ".sluice-tmp/") {
				tmp++
				continue
			}
			out[k] = aws.ToInt64(o.Size)
		}
	}
	return out, tmp, nil
}

// checkReplica reads key back from the destination and compares it with s.
func checkReplica(ctx context.Context, c *s3.Client, key string, s replicaState) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(replbench.DestBucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("replica %q: %w", key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		return fmt.Errorf("replica %q: read: %w", key, err)
	}
	var errs []error
	if got := hex.EncodeToString(h.Sum(nil)); n != s.size || got != s.sha256 {
		errs = append(errs, fmt.Errorf("%d bytes with SHA-256 %s, want %d bytes with %s", n, got, s.size, s.sha256))
	}
	if ct := aws.ToString(out.ContentType); ct != s.contentType {
		errs = append(errs, fmt.Errorf("content type %q, want %q", ct, s.contentType))
	}
	for k, v := range s.meta {
		if out.Metadata[k] != v {
			errs = append(errs, fmt.Errorf("metadata %s=%q, want %q", k, out.Metadata[k], v))
		}
	}
	if v := out.Metadata[metaSourceVersion]; v != s.versionID {
		errs = append(errs, fmt.Errorf("source version %q, want %q", v, s.versionID))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("replica %q: %w", key, err)
	}
	return nil
}
