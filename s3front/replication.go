package s3front

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3xml"
	"github.com/sluice-io/sluice/s3front/server"
)

// replication hands bucket replication rules to the replicator through the
// SLUICE_REPLICATION key-value bucket (rules.Store), opening it on first
// use so that a NATS outage at startup only delays it.
type replication struct {
	js         jetstream.JetStream
	replicas   int
	isLocation func(string) bool
	log        *zap.Logger

	mu sync.Mutex
	st *rules.Store
}

// store returns the key-value store, opening it when needed.
func (r *replication) store(ctx context.Context) (*rules.Store, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st != nil {
		return r.st, nil
	}
	st, err := rules.OpenStore(ctx, r.js, r.replicas)
	if err != nil {
		return nil, err
	}
	r.st = st
	return st, nil
}

// apply makes rs bucket's replication rules (none deletes them).
func (r *replication) apply(ctx context.Context, bucket string, rs []rules.Rule) error {
	st, err := r.store(ctx)
	if err != nil {
		return err
	}
	return st.Put(ctx, bucket, rs)
}

// sync makes the key-value bucket hold exactly the replication rules of the
// configurations stored in the metadata (every bucket's), so that it
// follows the metadata even after a Put failed or a bucket was deleted
// while NATS was down. Configurations that no longer parse or map (a
// location removed from the config) are logged and left out.
func (r *replication) sync(ctx context.Context, store meta.Store) error {
	buckets, err := store.ListBuckets(ctx, "")
	if err != nil {
		return fmt.Errorf("s3front: list buckets: %w", err)
	}
	all := map[string][]rules.Rule{}
	for _, b := range buckets {
		doc, err := store.GetBucketConfig(ctx, b.Name, meta.ConfigReplication)
		if errors.Is(err, meta.ErrNoSuchConfig) || errors.Is(err, meta.ErrNoSuchBucket) {
			continue
		}
		if err != nil {
			return fmt.Errorf("s3front: replication configuration of %s: %w", b.Name, err)
		}
		cfg, err := s3xml.ParseReplicationConfiguration(bytes.NewReader(doc))
		if err != nil {
			r.log.Warn("stored replication configuration ignored", zap.String("bucket", b.Name), zap.Error(err))
			continue
		}
		rs, err := server.ReplicationRules(cfg, r.isLocation)
		if err != nil {
			r.log.Warn("stored replication configuration ignored", zap.String("bucket", b.Name), zap.Error(err))
			continue
		}
		all[b.Name] = rs
	}
	st, err := r.store(ctx)
	if err != nil {
		return err
	}
	if err := st.Sync(ctx, all); err != nil {
		return err
	}
	r.log.Info("replication rules synced", zap.Int("buckets", len(all)))
	return nil
}
