package replicator

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/services/location"
)

// Metadata keys the replicator adds on every replica.
const (
	// MetaTags holds the source object's tags, URL-query encoded
	// ("k1=v1&k2=v2"); absent when it has none.
	MetaTags = "sluice-tags"
	// MetaSourceVersion holds the source version id copied.
	MetaSourceVersion = "sluice-source-version"
)

// HeaderResync marks a synthetic event (on the redrive subject) asking for
// a full comparison with the destination, not only with the checkpoint.
const HeaderResync = "Sluice-Replication-Resync"

// Fingerprints of absent sources in checkpoints.
const (
	fpDeleted = "deleted"
	fpKept    = "kept"
)

// maxConflicts bounds the retries of one event after checkpoint conflicts
// with another replica.
const maxConflicts = 5

// keyLocks serialises work on one (destination, bucket, key) inside a
// process (destinations never wait for each other); replicas in other
// processes are serialised by the checkpoint's compare-and-set.
type keyLocks [256]sync.Mutex

func (l *keyLocks) lock(dest, bucket, key string) func() {
	h := fnv.New32a()
	h.Write([]byte(dest))
	h.Write([]byte{0})
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	m := &l[h.Sum32()%uint32(len(l))]
	m.Lock()
	return m.Unlock
}

// fingerprint identifies a source state: a change to data, metadata or
// tags changes it.
func fingerprint(o sourceObject) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00", o.VersionID, o.ETag, o.Size, o.ContentType)
	for _, k := range slices.Sorted(maps.Keys(o.Metadata)) {
		fmt.Fprintf(h, "m%s\x00%s\x00", k, o.Metadata[k])
	}
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) {
		fmt.Fprintf(h, "t%s\x00%s\x00", k, o.Tags[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// destKey is the key of a replica.
func destKey(r rules.Rule, key string) string { return r.Destination.Prefix + key }

// replicaMetadata is the metadata a replica carries: the source's user
// metadata, its tags (MetaTags) and version (MetaSourceVersion).
func replicaMetadata(o sourceObject) map[string]string {
	md := make(map[string]string, len(o.Metadata)+2)
	maps.Copy(md, o.Metadata)
	if len(o.Tags) > 0 {
		v := url.Values{}
		for k, t := range o.Tags {
			v.Set(k, t)
		}
		md[MetaTags] = v.Encode()
	}
	if o.VersionID != "" {
		md[MetaSourceVersion] = o.VersionID
	}
	return md
}

// ParseReplicaTags decodes the MetaTags value of a replica.
func ParseReplicaTags(v string) (map[string]string, error) {
	q, err := url.ParseQuery(v)
	if err != nil {
		return nil, fmt.Errorf("replicator: replica tags: %w", err)
	}
	out := make(map[string]string, len(q))
	for k, vs := range q {
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	return out, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// destError classifies a destination driver error: invalid keys or
// arguments are permanent, everything else transient.
func destError(op string, err error) error {
	err = fmt.Errorf("replicator: destination %s: %w", op, err)
	if errors.Is(err, location.ErrInvalidKey) || errors.Is(err, location.ErrInvalidArgument) {
		return bus.Permanent(err)
	}
	return err
}

// event is what the handler takes from one delivery.
type event struct {
	rec    events.Record
	key    string
	seq    string
	resync bool
}

func decodeEvent(m *bus.Message) (event, error) {
	e, err := events.EventFromNATS(m.Headers, m.Data)
	if err != nil {
		return event{}, bus.Permanent(fmt.Errorf("replicator: decode event: %w", err))
	}
	rec, err := events.RecordFromCloudEvent(e)
	if err != nil {
		return event{}, bus.Permanent(fmt.Errorf("replicator: decode record: %w", err))
	}
	key, err := rec.ObjectKey()
	if err != nil {
		return event{}, bus.Permanent(fmt.Errorf("replicator: decode key: %w", err))
	}
	return event{rec: rec, key: key, seq: rec.S3.Object.Sequencer, resync: m.Redriven && m.Headers.Get(HeaderResync) != ""}, nil
}

// handle is the consumer handler of one destination.
func (d *destination) handle(ctx context.Context, m *bus.Message) error {
	ev, err := decodeEvent(m)
	if err != nil {
		return err
	}
	switch ev.rec.EventName.Category() {
	case events.CategoryObjectCreated, events.CategoryObjectRemoved, events.CategoryObjectTagging:
	default:
		return nil
	}
	if ev.rec.Sluice != nil && ev.rec.Sluice.ReplicationStatus == "REPLICA" {
		return nil // a replica written into Sluice is not replicated again
	}
	bucket := ev.rec.Bucket()
	cfg, ok, err := d.svc.rulesFor(ctx, bucket)
	if err != nil {
		return err
	}
	if !ok || !cfg.Targets(d.name) {
		return nil
	}
	unlock := d.svc.locks.lock(d.name, bucket, ev.key)
	defer unlock()

	res, err := d.sync(ctx, cfg, ev)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		final := bus.IsPermanent(err) || (d.svc.cfg.MaxDeliver > 0 && m.Metadata.NumDelivered >= uint64(d.svc.cfg.MaxDeliver))
		d.svc.metrics.attempts.WithLabelValues(d.name, "error").Inc()
		if final {
			d.fail(ctx, ev, err)
			return bus.Permanent(err)
		}
		d.svc.log.Debug("replication attempt failed", zap.String("destination", d.name),
			zap.String("bucket", bucket), zap.Uint64("delivery", m.Metadata.NumDelivered), zap.Error(err))
		return err
	}
	if res.skipped {
		d.svc.metrics.attempts.WithLabelValues(d.name, "skipped").Inc()
		if !res.republish {
			return nil
		}
		return publishStatus(ctx, d.svc.bus, StatusEvent{Bucket: bucket, Key: ev.key, VersionID: res.versionID,
			Sequencer: res.seq, Destination: d.name, Status: StatusCompleted, Time: d.svc.clock.Now(), Deleted: res.deleted})
	}
	now := d.svc.clock.Now()
	lag := now.Sub(ev.rec.EventTime)
	d.svc.metrics.completed.WithLabelValues(d.name).Inc()
	d.svc.metrics.bytes.WithLabelValues(d.name).Add(float64(res.bytes))
	d.svc.metrics.lag.WithLabelValues(d.name).Observe(max(lag, 0).Seconds())
	seq := ev.seq
	if seq == "" { // resync: report the sequencer the replica now reflects
		seq = res.seq
	}
	st := StatusEvent{
		Bucket: bucket, Key: ev.key, VersionID: res.versionID, Sequencer: seq, Destination: d.name,
		Status: StatusCompleted, Time: now, LagSeconds: max(lag, 0).Seconds(), Deleted: res.deleted,
	}
	if err := publishStatus(ctx, d.svc.bus, st); err != nil {
		return err // the copy is done; the retry finds it in the checkpoint... and republishes
	}
	if lag > d.svc.cfg.Threshold && !ev.resync {
		if err := publishReplicationEvent(ctx, d.svc.bus, events.ReplicationOperationReplicatedAfterThreshold, ev.rec.AWSRegion, st, now); err != nil {
			return err
		}
	}
	return nil
}

// result is what sync did.
type result struct {
	skipped   bool // nothing to do: stale, duplicate or not selected
	republish bool // skipped as a duplicate of the applied event
	deleted   bool
	bytes     int64
	versionID string
	seq       string // the checkpoint's sequencer afterwards
}

// sync makes the destination match the source's current state for one
// event, and records it in the checkpoint.
func (d *destination) sync(ctx context.Context, cfg rules.Config, ev event) (result, error) {
	bucket := cfg.Bucket
	force := ev.resync
	for attempt := 0; attempt < maxConflicts; attempt++ {
		ck, rev, err := d.svc.state.get(ctx, d.name, bucket, ev.key)
		if err != nil {
			return result{}, err
		}
		if !force && ev.seq != "" && ck.Status == StatusCompleted && events.CompareSequencers(ck.Sequencer, ev.seq) >= 0 {
			// Stale or duplicate: a later (or this) event was applied.
			// For a redelivery of the applied event, the status is
			// published again (its publish may have failed after the
			// checkpoint was written; the message id absorbs repeats).
			res := result{skipped: true}
			if events.CompareSequencers(ck.Sequencer, ev.seq) == 0 {
				res.republish, res.versionID, res.seq = true, ck.VersionID, ck.Sequencer
				res.deleted = ck.Fingerprint == fpDeleted
			}
			return res, nil
		}
		if age := d.svc.clock.Now().Sub(ev.rec.EventTime); age > d.svc.cfg.Threshold && !ev.resync && attempt == 0 {
			st := StatusEvent{Bucket: bucket, Key: ev.key, VersionID: ev.rec.S3.Object.VersionID, Sequencer: ev.seq,
				Destination: d.name, Status: "PENDING", Time: d.svc.clock.Now(), LagSeconds: age.Seconds()}
			if err := publishReplicationEvent(ctx, d.svc.bus, events.ReplicationOperationMissedThreshold, ev.rec.AWSRegion, st, d.svc.clock.Now()); err != nil {
				return result{}, err
			}
		}
		res, nck, err := d.apply(ctx, cfg, ev, ck, force)
		if err != nil {
			return result{}, err
		}
		if res.skipped {
			return res, nil
		}
		nck.Destination, nck.Bucket, nck.Key = d.name, bucket, ev.key
		nck.Status, nck.Time = StatusCompleted, d.svc.clock.Now()
		nck.Sequencer = ck.Sequencer
		if ck.Status == StatusFailed || events.CompareSequencers(ev.seq, ck.Sequencer) > 0 {
			nck.Sequencer = maxSeq(ck.Sequencer, ev.seq)
		}
		err = d.svc.state.put(ctx, nck, rev)
		if errors.Is(err, errConflict) {
			// Another replica moved the checkpoint while we copied; our
			// copy may have overwritten a newer one. Copy again from the
			// current source state.
			force = true
			continue
		}
		if err != nil {
			return result{}, err
		}
		res.seq = nck.Sequencer
		return res, nil
	}
	return result{}, fmt.Errorf("replicator: %d checkpoint conflicts on %s/%s", maxConflicts, bucket, ev.key)
}

func maxSeq(a, b string) string {
	if events.CompareSequencers(a, b) >= 0 {
		return a
	}
	return b
}

// apply reads the source and changes the destination; it returns the new
// checkpoint's fingerprint and version.
//
// A normal event reads the source with one GetObject (see source.get),
// whose body is then copied or, when nothing changed, closed unread. A
// forced comparison (resync, or a redo after a checkpoint conflict), which
// usually finds nothing to copy, asks HeadObject first and opens the data
// only when it copies.
func (d *destination) apply(ctx context.Context, cfg rules.Config, ev event, ck Checkpoint, force bool) (result, Checkpoint, error) {
	var (
		obj  sourceObject
		body io.ReadCloser
		abs  sourceAbsence
		err  error
	)
	if force {
		obj, abs, err = d.svc.source.head(ctx, cfg.Bucket, ev.key, true)
	} else {
		obj, body, abs, err = d.svc.source.get(ctx, cfg.Bucket, ev.key)
	}
	if body != nil {
		defer body.Close()
	}
	if errors.Is(err, errSourceGone) {
		rule, ok := cfg.ForKey(d.name, ev.key)
		if !ok {
			return result{skipped: true}, Checkpoint{}, nil
		}
		if abs.DeleteMarker && !rule.ReplicatesDeleteMarkers() {
			return result{}, Checkpoint{Fingerprint: fpKept}, nil
		}
		if !force && ck.Fingerprint == fpDeleted {
			return result{deleted: true}, Checkpoint{Fingerprint: fpDeleted}, nil
		}
		if err := d.drv.Delete(ctx, destKey(rule, ev.key)); err != nil {
			return result{}, Checkpoint{}, destError("delete", err)
		}
		return result{deleted: true}, Checkpoint{Fingerprint: fpDeleted}, nil
	}
	if err != nil {
		return result{}, Checkpoint{}, err
	}
	rule, ok := cfg.For(d.name, rules.Object{Key: ev.key, Tags: obj.Tags})
	if !ok {
		return result{skipped: true}, Checkpoint{}, nil
	}
	fp := fingerprint(obj)
	nck := Checkpoint{Fingerprint: fp, VersionID: obj.VersionID}
	res := result{versionID: obj.VersionID}
	dk := destKey(rule, ev.key)
	if ck.Status == StatusCompleted && ck.Fingerprint == fp {
		if !force {
			return res, nck, nil
		}
		// Resync: trust the checkpoint only if the replica is there.
		if info, err := d.drv.Stat(ctx, dk); err == nil && info.Size == obj.Size &&
			(obj.MD5() == "" || info.ETag == obj.MD5()) && info.Metadata[MetaSourceVersion] == obj.VersionID {
			return res, nck, nil
		}
	}
	n, err := d.copy(ctx, cfg.Bucket, ev.key, dk, obj, body)
	if err != nil {
		return result{}, Checkpoint{}, err
	}
	res.bytes = n
	return res, nck, nil
}

// copy streams the source version obj describes to the destination key
// and verifies size (always) and MD5 (when the source ETag is one). body,
// when not nil, is that version's data, already open; otherwise copy opens
// it.
func (d *destination) copy(ctx context.Context, bucket, key, dk string, obj sourceObject, body io.Reader) (int64, error) {
	inflight, inflightB := d.svc.metrics.inflight.WithLabelValues(d.name), d.svc.metrics.inflightB.WithLabelValues(d.name)
	inflight.Inc()
	inflightB.Add(float64(obj.Size))
	defer func() {
		inflight.Dec()
		inflightB.Sub(float64(obj.Size))
	}()
	sum := obj.MD5()
	if sum == "" && d.md5First && obj.Size > md5FirstMin {
		// An s3 destination must know the MD5 before a multipart upload
		// starts, or it uploads to a temporary object and copies that
		// server-side. Reading the source once more costs less.
		if body == nil {
			rc, err := d.svc.source.open(ctx, bucket, key, obj)
			if err != nil {
				return 0, err
			}
			defer rc.Close()
			body = rc
		}
		var err error
		if sum, err = md5Of(body, obj.Size); err != nil {
			return 0, fmt.Errorf("replicator: reading %s/%s for its MD5: %w", bucket, key, err)
		}
		body = nil // consumed; the copy reads the version again
	}
	if body == nil {
		rc, err := d.svc.source.open(ctx, bucket, key, obj)
		if err != nil {
			return 0, err
		}
		defer rc.Close()
		body = rc
	}
	cr := &countingReader{r: body}
	opts := location.PutOptions{Size: obj.Size, ContentType: obj.ContentType, Metadata: replicaMetadata(obj)}
	if sum != "" {
		opts.ContentMD5, _ = hex.DecodeString(sum)
	}
	start := time.Now()
	info, err := d.drv.Put(ctx, dk, cr, opts)
	if err != nil {
		return 0, destError("put", err)
	}
	if info.Size != obj.Size || cr.n != obj.Size {
		return 0, fmt.Errorf("replicator: size mismatch copying %s/%s: source %d, read %d, stored %d", bucket, key, obj.Size, cr.n, info.Size)
	}
	if sum != "" && info.ETag != sum {
		return 0, fmt.Errorf("replicator: MD5 mismatch copying %s/%s: source %s, stored %s", bucket, key, sum, info.ETag)
	}
	d.svc.log.Debug("replicated", zap.String("destination", d.name), zap.String("bucket", bucket),
		zap.Int64("bytes", info.Size), zap.Duration("took", time.Since(start)))
	return info.Size, nil
}

// md5FirstMin is the size above which copies of objects whose source ETag
// is not an MD5 to s3 destinations read the source twice (see copy): the s3
// driver's default part size, up to which it sends one PutObject and needs
// no MD5 in advance.
const md5FirstMin = 8 << 20

// md5Of reads r to its end and returns the hex MD5 of its bytes, which must
// be exactly size.
func md5Of(r io.Reader, size int64) (string, error) {
	h := md5.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", err
	}
	if n != size {
		return "", fmt.Errorf("read %d bytes, want %d", n, size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fail records a FAILED operation: checkpoint, status event and the AWS
// OperationFailedReplication event. Errors are logged: the message is
// dead-lettered anyway and a retry republishes.
func (d *destination) fail(ctx context.Context, ev event, cause error) {
	bucket := ev.rec.Bucket()
	now := d.svc.clock.Now()
	d.svc.metrics.failed.WithLabelValues(d.name).Inc()
	msg := cause.Error()
	if len(msg) > 512 {
		msg = msg[:512]
	}
	ck, rev, err := d.svc.state.get(ctx, d.name, bucket, ev.key)
	if err == nil {
		ck.Destination, ck.Bucket, ck.Key = d.name, bucket, ev.key
		ck.Status, ck.Error, ck.Time = StatusFailed, msg, now
		if err = d.svc.state.put(ctx, ck, rev); errors.Is(err, errConflict) {
			err = nil // someone else got further; their result stands
		}
	}
	if err != nil {
		d.svc.log.Warn("recording failure", zap.String("destination", d.name), zap.Error(err))
	}
	st := StatusEvent{Bucket: bucket, Key: ev.key, VersionID: ev.rec.S3.Object.VersionID, Sequencer: ev.seq,
		Destination: d.name, Status: StatusFailed, Error: msg, Time: now, LagSeconds: max(now.Sub(ev.rec.EventTime), 0).Seconds()}
	if err := publishStatus(ctx, d.svc.bus, st); err != nil {
		d.svc.log.Warn("publishing FAILED status", zap.String("destination", d.name), zap.Error(err))
	}
	if err := publishReplicationEvent(ctx, d.svc.bus, events.ReplicationOperationFailedReplication, ev.rec.AWSRegion, st, now); err != nil {
		d.svc.log.Warn("publishing OperationFailedReplication", zap.String("destination", d.name), zap.Error(err))
	}
	d.svc.log.Warn("replication failed", zap.String("destination", d.name), zap.String("bucket", bucket),
		zap.String("sequencer", ev.seq), zap.String("error", msg))
}
