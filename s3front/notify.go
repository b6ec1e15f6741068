package s3front

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/notifications"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

// notifier hands bucket notification subscriptions to the delivery
// service through the SLUICE_NOTIFICATIONS key-value bucket
// (notifications.Store), opening it on first use so that a NATS outage at
// startup only delays it.
type notifier struct {
	js       jetstream.JetStream
	pub      bus.Publisher
	cfg      deliver.Config
	replicas int
	log      *zap.Logger
	now      func() time.Time

	mu sync.Mutex
	st *notifications.Store
}

// store returns the key-value store, opening it when needed.
func (n *notifier) store(ctx context.Context) (*notifications.Store, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.st != nil {
		return n.st, nil
	}
	st, err := notifications.Open(ctx, n.js, notifications.Options{Replicas: n.replicas, Logger: n.log})
	if err != nil {
		return nil, err
	}
	n.st = st
	return st, nil
}

// apply makes subs bucket's subscriptions and sends test events to targets
// new to the bucket (notifications.Store.Apply).
func (n *notifier) apply(ctx context.Context, bucket string, subs []deliver.Subscription) error {
	st, err := n.store(ctx)
	if err != nil {
		return err
	}
	return st.Apply(ctx, n.pub, n.cfg, bucket, subs, n.now())
}

// sync makes the key-value bucket hold exactly the notification
// configurations stored in the metadata (every bucket's), so that it
// follows the metadata even after an Apply failed or a bucket was deleted
// while NATS was down; targets new to a bucket get their test event
// (notifications.Store.Reconcile). Configurations that no longer parse are
// logged and left out.
func (n *notifier) sync(ctx context.Context, store meta.Store) error {
	buckets, err := store.ListBuckets(ctx, "")
	if err != nil {
		return fmt.Errorf("s3front: list buckets: %w", err)
	}
	all := map[string][]deliver.Subscription{}
	for _, b := range buckets {
		doc, err := store.GetBucketConfig(ctx, b.Name, meta.ConfigNotification)
		if errors.Is(err, meta.ErrNoSuchConfig) || errors.Is(err, meta.ErrNoSuchBucket) {
			continue
		}
		if err != nil {
			return fmt.Errorf("s3front: notification configuration of %s: %w", b.Name, err)
		}
		cfg, err := s3xml.ParseNotificationConfiguration(bytes.NewReader(doc))
		if err != nil {
			n.log.Warn("stored notification configuration ignored", zap.String("bucket", b.Name), zap.Error(err))
			continue
		}
		if subs := cfg.Subscriptions(b.Name); len(subs) > 0 {
			all[b.Name] = subs
		}
	}
	st, err := n.store(ctx)
	if err != nil {
		return err
	}
	if err := st.Reconcile(ctx, n.pub, n.cfg, all, n.now()); err != nil {
		return err
	}
	n.log.Info("notification subscriptions synced", zap.Int("buckets", len(all)))
	return nil
}
