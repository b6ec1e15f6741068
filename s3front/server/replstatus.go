package server

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

// ReplicaHeader marks a write made by a replicator into this Sluice: a PUT,
// POST, CopyObject or CompleteMultipartUpload carrying "X-Sluice-Replica: 1"
// (or "true") stores its version with x-amz-replication-status REPLICA and
// no PENDING destinations, and a delete marker it creates is a REPLICA too.
// The events of every mutation such a request makes carry
// sluice.replicationStatus REPLICA, which the replicator skips, so two
// Sluices replicating into each other do not loop. The s3 location driver
// sends it when its replicaMarker option is set.
const ReplicaHeader = "X-Sluice-Replica"

// DefaultRulesCacheTTL is how long the server trusts the replication rules it
// read for a bucket before it reads them again: the delay after which a
// replication configuration changed through another s3front replica decides
// the status of new writes here. Changes made through this server apply at
// once.
const DefaultRulesCacheTTL = 5 * time.Second

// isReplica reports whether the request carries ReplicaHeader.
func (rc *reqCtx) isReplica() bool {
	v := strings.TrimSpace(rc.r.Header.Get(ReplicaHeader))
	return v == "1" || strings.EqualFold(v, "true")
}

// rulesCache keeps each bucket's replication rules, as mapped from its stored
// configuration, for a TTL. forget bumps a generation so that a load that
// raced with a configuration change is not cached.
type rulesCache struct {
	ttl time.Duration
	mu  sync.Mutex
	gen uint64
	m   map[string]rulesEntry
}

type rulesEntry struct {
	cfg rules.Config
	at  time.Time
}

func newRulesCache(ttl time.Duration) *rulesCache {
	if ttl <= 0 {
		ttl = DefaultRulesCacheTTL
	}
	return &rulesCache{ttl: ttl, m: map[string]rulesEntry{}}
}

// get returns the cached rules of bucket when they are fresh, and the
// current generation to pass to put otherwise.
func (c *rulesCache) get(bucket string, now time.Time) (rules.Config, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[bucket]
	if ok && now.Sub(e.at) < c.ttl && !now.Before(e.at) {
		return e.cfg, true, c.gen
	}
	return rules.Config{}, false, c.gen
}

// put caches cfg unless forget ran since get returned gen.
func (c *rulesCache) put(bucket string, cfg rules.Config, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.m[bucket] = rulesEntry{cfg: cfg, at: now}
	}
}

// forget drops the cached rules of bucket.
func (c *rulesCache) forget(bucket string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, bucket)
}

// replicationConfig returns the bucket's replication rules as they decide the
// status of new writes: from the cache, or read from the stored
// configuration. A configuration that no longer maps (a destination location
// was removed from the configuration) selects nothing and is logged. Errors
// are the store's.
func (s *Server) replicationConfig(ctx context.Context, bucket string) (rules.Config, error) {
	now := s.now()
	cfg, ok, gen := s.rules.get(bucket, now)
	if ok {
		return cfg, nil
	}
	cfg = rules.Config{Bucket: bucket}
	doc, err := s.store.GetBucketConfig(ctx, bucket, meta.ConfigReplication)
	switch {
	case errors.Is(err, meta.ErrNoSuchConfig):
	case err != nil:
		return cfg, err
	default:
		c, perr := s3xml.ParseReplicationConfiguration(bytes.NewReader(doc))
		if perr == nil {
			cfg.Rules, perr = ReplicationRules(c, s.isLocation)
		}
		if perr != nil {
			cfg.Rules = nil
			s.log.Warn("stored replication configuration ignored for new writes", zap.String("bucket", bucket), zap.Error(perr))
		}
	}
	s.rules.put(bucket, cfg, now, gen)
	return cfg, nil
}

// pendingDestinations returns the destinations whose enabled rules select
// an object with key and tags, each PENDING, or nil.
func pendingDestinations(cfg rules.Config, key string, tags map[string]string) map[string]string {
	var out map[string]string
	o := rules.Object{Key: key, Tags: tags}
	for _, dest := range cfg.Destinations() {
		if _, ok := cfg.For(dest, o); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[dest] = meta.ReplicationPending
		}
	}
	return out
}

// markerDestinations returns the destinations that replicate a delete marker
// of key, each PENDING, or nil: those whose governing rule (rules.Config.ForKey)
// replicates delete markers, as the replicator decides.
func markerDestinations(cfg rules.Config, key string) map[string]string {
	var out map[string]string
	for _, dest := range cfg.Destinations() {
		if best, found := cfg.ForKey(dest, key); found && best.ReplicatesDeleteMarkers() {
			if out == nil {
				out = map[string]string{}
			}
			out[dest] = meta.ReplicationPending
		}
	}
	return out
}

// setReplication decides the replication status of a new version obj
// written by rc, before it is committed: REPLICA for a replicator's write,
// PENDING with the selected destinations when enabled rules select it, ""
// otherwise (objects written before any rule existed stay "", as in AWS).
func (s *Server) setReplication(rc *reqCtx, obj *meta.Object) error {
	obj.ReplicationStatus, obj.Replication = "", nil
	if rc.isReplica() {
		obj.ReplicationStatus = meta.ReplicationReplica
		return nil
	}
	cfg, err := s.replicationConfig(rc.ctx, obj.Bucket)
	if err != nil {
		return s.metaErr(rc, err)
	}
	if dests := pendingDestinations(cfg, obj.Key, obj.Tags); dests != nil {
		obj.ReplicationStatus, obj.Replication = meta.ReplicationPending, dests
	}
	return nil
}

// deleteOptions returns the options of a DeleteObject of key (versionID as
// requested): when it may create a delete marker, the marker's replication
// status (REPLICA for a replicator's delete, PENDING with the destinations
// that replicate delete markers).
func (s *Server) deleteOptions(rc *reqCtx, key, versionID string) ([]meta.DeleteOption, error) {
	if versionID != "" || rc.bucket.Versioning == meta.VersioningUnset {
		return nil, nil
	}
	if rc.isReplica() {
		return []meta.DeleteOption{meta.WithMarkerReplication(meta.ReplicationReplica, nil)}, nil
	}
	cfg, err := s.replicationConfig(rc.ctx, rc.route.Bucket)
	if err != nil {
		return nil, err
	}
	if dests := markerDestinations(cfg, key); dests != nil {
		return []meta.DeleteOption{meta.WithMarkerReplication(meta.ReplicationPending, dests)}, nil
	}
	return nil, nil
}
