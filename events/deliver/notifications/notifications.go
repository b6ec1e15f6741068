// Package notifications keeps every bucket's notification subscriptions in
// the JetStream key-value bucket SLUICE_NOTIFICATIONS (one key per S3
// bucket, a JSON document), where s3front writes them and the deliverers
// of every replica watch them (Store implements deliver.SubscriptionSource).
//
// s3front calls Apply after PutBucketNotificationConfiguration succeeds
// (and Delete when the bucket is deleted, Sync at startup); Apply also
// sends an s3:TestEvent to every target the bucket did not name before, as
// AWS does.
package notifications

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/filter"
)

// BucketName is the key-value bucket holding the subscriptions.
const BucketName = "SLUICE_NOTIFICATIONS"

// maxUpdateTries bounds the optimistic-concurrency retries of Put.
const maxUpdateTries = 16

// Sentinel errors.
var (
	// ErrInvalidDocument: a stored value is not a subscriptions document.
	ErrInvalidDocument = errors.New("notifications: invalid stored document")
	// ErrConflict: Put lost the race against concurrent writers
	// maxUpdateTries times.
	ErrConflict = errors.New("notifications: concurrent updates, try again")
)

// Options configure Open.
type Options struct {
	// Replicas of the key-value bucket; zero means 1 (3 on a cluster).
	Replicas int
	// Logger receives the store's log lines; nil means none.
	Logger *zap.Logger
	// Stream is the events stream the targets' consumers read, where Apply
	// makes sure they exist; empty means bus.EventsStreamName.
	Stream string
	// FilterWait bounds how long Apply waits for a running deliverer to
	// filter the new subscriptions (deliver.WaitTargetFiltered); zero
	// means DefaultFilterWait, negative means no waiting.
	FilterWait time.Duration
}

// DefaultFilterWait is Options.FilterWait's default.
const DefaultFilterWait = 2 * time.Second

// Store reads and writes the subscriptions. It is safe for concurrent use.
type Store struct {
	js         jetstream.JetStream
	kv         jetstream.KeyValue
	stream     string
	filterWait time.Duration
	log        *zap.Logger
}

var _ deliver.SubscriptionSource = (*Store)(nil)

// Open returns the store, creating the key-value bucket (history 1, file
// storage) when it does not exist. It returns the server's error wrapped.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	kv, err := js.KeyValue(ctx, BucketName)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      BucketName,
			Description: "Sluice bucket notification subscriptions, one key per bucket",
			History:     1,
			Replicas:    max(1, opts.Replicas),
			Storage:     jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, BucketName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("notifications: open %s: %w", BucketName, err)
	}
	stream := opts.Stream
	if stream == "" {
		stream = bus.EventsStreamName
	}
	wait := opts.FilterWait
	if wait == 0 {
		wait = DefaultFilterWait
	}
	return &Store{js: js, kv: kv, stream: stream, filterWait: wait, log: log}, nil
}

// document is the stored JSON of one bucket.
type document struct {
	Bucket        string             `json:"bucket"`
	Subscriptions []subscriptionJSON `json:"subscriptions"`
}

type subscriptionJSON struct {
	ID       string     `json:"id,omitempty"`
	Target   string     `json:"target"`
	Events   []string   `json:"events"`
	Key      []ruleJSON `json:"key,omitempty"`
	Tags     []ruleJSON `json:"tags,omitempty"`
	Metadata []ruleJSON `json:"metadata,omitempty"`
}

type ruleJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func toRules(rs []filter.FilterRule) []ruleJSON {
	var out []ruleJSON
	for _, r := range rs {
		out = append(out, ruleJSON(r))
	}
	return out
}

func fromRules(rs []ruleJSON) []filter.FilterRule {
	var out []filter.FilterRule
	for _, r := range rs {
		out = append(out, filter.FilterRule(r))
	}
	return out
}

// Encode returns the stored form of one bucket's subscriptions.
func Encode(bucket string, subs []deliver.Subscription) ([]byte, error) {
	doc := document{Bucket: bucket, Subscriptions: []subscriptionJSON{}}
	for _, s := range subs {
		doc.Subscriptions = append(doc.Subscriptions, subscriptionJSON{
			ID: s.ID, Target: s.TargetARN, Events: s.Rule.Events,
			Key: toRules(s.Rule.Key), Tags: toRules(s.Rule.Tags), Metadata: toRules(s.Rule.Metadata),
		})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("notifications: encode: %w", err)
	}
	return b, nil
}

// Decode reads a stored document. It never panics and returns an error
// wrapping ErrInvalidDocument for anything but a document whose
// subscriptions are all valid (deliver.Subscription.Validate).
func Decode(b []byte) (bucket string, subs []deliver.Subscription, err error) {
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrInvalidDocument, err)
	}
	if doc.Bucket == "" {
		return "", nil, fmt.Errorf("%w: no bucket", ErrInvalidDocument)
	}
	for _, s := range doc.Subscriptions {
		sub := deliver.Subscription{
			Bucket: doc.Bucket, ID: s.ID, TargetARN: s.Target,
			Rule: filter.Rule{ID: s.ID, Events: s.Events, Key: fromRules(s.Key), Tags: fromRules(s.Tags), Metadata: fromRules(s.Metadata)},
		}
		if err := sub.Validate(); err != nil {
			return "", nil, fmt.Errorf("%w: %w", ErrInvalidDocument, err)
		}
		subs = append(subs, sub)
	}
	return doc.Bucket, subs, nil
}

// Get returns bucket's subscriptions (none when it has no entry). It
// returns ErrInvalidDocument or the server's error wrapped.
func (s *Store) Get(ctx context.Context, bucket string) ([]deliver.Subscription, error) {
	subs, _, err := s.get(ctx, bucket)
	return subs, err
}

// get returns the subscriptions and the entry's revision (0: none).
func (s *Store) get(ctx context.Context, bucket string) ([]deliver.Subscription, uint64, error) {
	e, err := s.kv.Get(ctx, bucket)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("notifications: get %s: %w", bucket, err)
	}
	_, subs, err := Decode(e.Value())
	if err != nil {
		return nil, 0, fmt.Errorf("notifications: %s: %w", bucket, err)
	}
	return subs, e.Revision(), nil
}

// Put replaces bucket's subscriptions (none deletes the entry) and
// returns the target ARNs that are new to the bucket, in order of first
// appearance, with the new entry's revision (0 after a delete). Each
// subscription must be valid (deliver.Subscription.Validate) and its Bucket
// empty or bucket. It returns those validation errors, ErrConflict, or the
// server's error wrapped (jetstream.ErrInvalidKey for a bucket name that
// is not a valid key).
func (s *Store) Put(ctx context.Context, bucket string, subs []deliver.Subscription) (added []string, rev uint64, err error) {
	subs = slices.Clone(subs)
	for i := range subs {
		if subs[i].Bucket == "" {
			subs[i].Bucket = bucket
		}
		if subs[i].Bucket != bucket {
			return nil, 0, fmt.Errorf("%w: subscription of bucket %q stored under %q", deliver.ErrInvalidSubscription, subs[i].Bucket, bucket)
		}
		if err := subs[i].Validate(); err != nil {
			return nil, 0, err
		}
	}
	val, err := Encode(bucket, subs)
	if err != nil {
		return nil, 0, err
	}
	for range maxUpdateTries {
		old, oldRev, err := s.get(ctx, bucket)
		if err != nil && !errors.Is(err, ErrInvalidDocument) {
			return nil, 0, err
		}
		if len(subs) == 0 {
			if oldRev == 0 {
				return nil, 0, nil
			}
			err := s.kv.Delete(ctx, bucket, jetstream.LastRevision(oldRev))
			if isConflict(err) {
				continue
			}
			if err != nil {
				return nil, 0, fmt.Errorf("notifications: delete %s: %w", bucket, err)
			}
			return nil, 0, nil
		}
		if oldRev == 0 {
			rev, err = s.kv.Create(ctx, bucket, val)
		} else {
			rev, err = s.kv.Update(ctx, bucket, val, oldRev)
		}
		if isConflict(err) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("notifications: put %s: %w", bucket, err)
		}
		return newTargets(old, subs), rev, nil
	}
	return nil, 0, fmt.Errorf("%w: bucket %s", ErrConflict, bucket)
}

// isConflict reports whether a conditional write lost a race.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// newTargets returns the ARNs of subs that old does not name.
func newTargets(old, subs []deliver.Subscription) []string {
	had := map[string]bool{}
	for _, s := range old {
		had[s.TargetARN] = true
	}
	var out []string
	for _, s := range subs {
		if !had[s.TargetARN] {
			had[s.TargetARN] = true
			out = append(out, s.TargetARN)
		}
	}
	return out
}

// Delete removes bucket's subscriptions. It returns the server's error
// wrapped.
func (s *Store) Delete(ctx context.Context, bucket string) error {
	_, _, err := s.Put(ctx, bucket, nil)
	return err
}

// Sync makes the store hold exactly all (bucket → subscriptions): it puts
// every bucket of all and deletes the entries of other buckets. It sends no
// test events and returns the first error.
func (s *Store) Sync(ctx context.Context, all map[string][]deliver.Subscription) error {
	return s.sync(ctx, all, func(b string, subs []deliver.Subscription) error {
		_, _, err := s.Put(ctx, b, subs)
		return err
	})
}

// Reconcile is what s3front calls at startup: like Sync it makes the store
// hold exactly all, but it stores each bucket with Apply, so targets get
// their consumers and a target new to a bucket gets its s3:TestEvent. A
// configuration whose Apply failed after s3front had stored it (NATS or the
// events stream was not ready; the client was told 503) thus still sends its
// test event once, whether the reconcile or the client's retry stores it
// first (test event ids derive from bucket, target and revision). It
// returns the first error of Apply or Delete.
func (s *Store) Reconcile(ctx context.Context, pub bus.Publisher, cfg deliver.Config, all map[string][]deliver.Subscription, now time.Time) error {
	return s.sync(ctx, all, func(b string, subs []deliver.Subscription) error {
		return s.Apply(ctx, pub, cfg, b, subs, now)
	})
}

// sync stores every bucket of all with put, in bucket order, then deletes the
// entries of buckets not in all.
func (s *Store) sync(ctx context.Context, all map[string][]deliver.Subscription, put func(string, []deliver.Subscription) error) error {
	keys, err := s.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("notifications: list: %w", err)
	}
	var stale []string
	for k := range keys.Keys() { // closed once every key was listed
		if _, ok := all[k]; !ok {
			stale = append(stale, k)
		}
	}
	_ = keys.Stop() // the lister has already finished; stopping only cleans up
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notifications: list: %w", err)
	}
	for _, b := range slices.Sorted(maps.Keys(all)) {
		if err := put(b, all[b]); err != nil {
			return err
		}
	}
	for _, k := range stale {
		if err := s.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// Apply is what s3front calls once PutBucketNotificationConfiguration has
// been validated (cfg.ValidateSubscriptions) and stored: it validates subs
// against cfg again (a Subscription with an empty Bucket takes bucket),
// makes sure every target they name has its durable consumer
// (deliver.EnsureTargetConsumer), stores them with Put (none deletes the
// entry), publishes an s3:TestEvent (deliver.PublishTestEvent) to each
// target the bucket did not name before, and finally waits, at most
// Options.FilterWait, until a running deliverer filters the subscriptions
// (deliver.WaitTargetFiltered).
//
// So once Apply returned, the test events and every event of the bucket
// the subscriptions select reach their targets: a deliverer that runs
// follows the subscriptions already, and one that starts later (the events
// process starts after s3front, or is down) finds the consumer holding
// them, filtering nothing but its target's private subject, and applies
// the subscriptions before it reads. The exception is a deliverer that
// runs but does not follow the subscriptions within FilterWait (its
// subscription watch is failing); Apply logs a warning and returns nil
// then, and events written before it catches up may not reach the target.
// Test event ids derive from the bucket, target and revision, so a retried
// Apply does not send them twice.
//
// It returns the validation errors of deliver.Config.ValidateSubscriptions,
// the errors of deliver.EnsureTargetConsumer (jetstream.ErrStreamNotFound
// before the events stream exists) and of Put, or the first publish error
// (the subscriptions are stored by then).
func (s *Store) Apply(ctx context.Context, pub bus.Publisher, cfg deliver.Config, bucket string, subs []deliver.Subscription, now time.Time) error {
	subs = slices.Clone(subs)
	for i := range subs {
		if subs[i].Bucket == "" {
			subs[i].Bucket = bucket
		}
	}
	if err := cfg.ValidateSubscriptions(subs); err != nil {
		return err
	}
	ensured := map[string]bool{}
	for _, sub := range subs {
		t, err := cfg.Resolve(sub.TargetARN)
		if err != nil {
			return err
		}
		if ensured[t.Name] {
			continue
		}
		if err := deliver.EnsureTargetConsumer(ctx, s.js, s.stream, t); err != nil {
			return err
		}
		ensured[t.Name] = true
	}
	added, rev, err := s.Put(ctx, bucket, subs)
	if err != nil {
		return err
	}
	for _, arn := range added {
		t, err := cfg.Resolve(arn)
		if err != nil {
			return err
		}
		id := fmt.Sprintf("s3-test-%s-%s-%d", bucket, t.Name, rev)
		if err := deliver.PublishTestEvent(ctx, pub, t, bucket, id, now); err != nil {
			return err
		}
		s.log.Info("test event sent", zap.String("bucket", bucket), zap.String("target", t.Name))
	}
	s.waitFiltered(ctx, cfg, bucket, subs)
	return nil
}

// waitFiltered waits, at most s.filterWait in all, until the consumer of
// every target subs name filters the subjects subs need. It only logs
// what it cannot confirm: the subscriptions are stored either way.
func (s *Store) waitFiltered(ctx context.Context, cfg deliver.Config, bucket string, subs []deliver.Subscription) {
	if s.filterWait < 0 || len(subs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.filterWait)
	defer cancel()
	byTarget := map[string][]deliver.Subscription{}
	var order []deliver.TargetConfig
	for _, sub := range subs {
		t, err := cfg.Resolve(sub.TargetARN)
		if err != nil {
			continue // validated by Apply already
		}
		if _, ok := byTarget[t.Name]; !ok {
			order = append(order, t)
		}
		byTarget[t.Name] = append(byTarget[t.Name], sub)
	}
	for _, t := range order {
		want, err := deliver.BucketFilters(bucket, byTarget[t.Name])
		if err == nil {
			_, err = deliver.WaitTargetFiltered(ctx, s.js, s.stream, t, want)
		}
		if err != nil {
			s.log.Warn("the events service has not applied the subscriptions yet; events written meanwhile may not reach the target",
				zap.String("bucket", bucket), zap.String("target", t.Name), zap.Error(err))
			return
		}
	}
}

// Watch implements deliver.SubscriptionSource over the key-value bucket.
// It returns the server's error wrapped when the watch cannot start.
// Entries that do not decode are logged and left out.
func (s *Store) Watch(ctx context.Context) (<-chan []deliver.Subscription, error) {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("notifications: watch: %w", err)
	}
	out := make(chan []deliver.Subscription, 1)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		state := map[string][]deliver.Subscription{}
		initial := true
		for {
			var e jetstream.KeyValueEntry
			select {
			case <-ctx.Done():
				return
			case u, ok := <-w.Updates():
				if !ok {
					return
				}
				e = u
			}
			if e == nil { // end of the initial values
				initial = false
				sendLatest(out, flatten(state))
				continue
			}
			switch e.Operation() {
			case jetstream.KeyValuePut:
				_, subs, err := Decode(e.Value())
				if err != nil {
					s.log.Warn("ignoring undecodable subscriptions", zap.String("bucket", e.Key()), zap.Error(err))
					delete(state, e.Key())
				} else {
					state[e.Key()] = subs
				}
			default: // delete, purge
				delete(state, e.Key())
			}
			if !initial {
				sendLatest(out, flatten(state))
			}
		}
	}()
	return out, nil
}

// flatten returns every subscription, ordered by bucket.
func flatten(state map[string][]deliver.Subscription) []deliver.Subscription {
	var out []deliver.Subscription
	for _, b := range slices.Sorted(maps.Keys(state)) {
		out = append(out, state[b]...)
	}
	return out
}

// sendLatest replaces whatever ch holds with v; the caller is ch's only
// sender and ch has capacity 1.
func sendLatest[T any](ch chan T, v T) {
	select {
	case <-ch:
	default:
	}
	ch <- v
}
