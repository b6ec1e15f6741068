package deliver

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/filter"
	"github.com/sluice-io/sluice/events/subject"
)

// Subscription is one entry of a bucket's notification configuration: the
// events of Bucket that Rule selects go to the target TargetARN names.
type Subscription struct {
	// Bucket is the bucket whose events are selected.
	Bucket string `json:"bucket"`
	// ID is the configuration Id; deliveries carry it as
	// s3.configurationId.
	ID string `json:"id,omitempty"`
	// TargetARN names the target (see ParseARN).
	TargetARN string `json:"target"`
	// Rule selects the events: event-name patterns, prefix/suffix, tag and
	// metadata filters.
	Rule filter.Rule `json:"rule"`
}

// Validate checks the subscription on its own: a bucket, a well-formed ARN
// and a valid rule that does not name s3:TestEvent (test events are sent by
// Sluice, never subscribed to). It returns an error wrapping
// ErrInvalidSubscription (with the filter package's sentinel, or
// events.ErrUnknownEventName) or ErrInvalidARN.
func (s Subscription) Validate() error {
	if s.Bucket == "" {
		return fmt.Errorf("%w: empty bucket", ErrInvalidSubscription)
	}
	if _, err := ParseARN(s.TargetARN); err != nil {
		return err
	}
	if err := s.Rule.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSubscription, err)
	}
	for _, p := range s.Rule.Events {
		if pat, _ := events.ParsePattern(p); pat.Category == events.CategoryTestEvent {
			return fmt.Errorf("%w: %w: %q cannot be subscribed to", ErrInvalidSubscription, events.ErrUnknownEventName, p)
		}
	}
	return nil
}

// ValidateSubscriptions checks one bucket's whole notification
// configuration against the configured targets, as
// PutBucketNotificationConfiguration must before storing it: every
// subscription is valid (Subscription.Validate), names a configured target
// (Resolve), and no two rules overlap (filter.ValidateConfig). It returns
// the first problem: an error wrapping ErrInvalidARN, ErrUnknownTarget or
// ErrInvalidSubscription (with filter.ErrOverlap for overlapping rules).
func (c Config) ValidateSubscriptions(subs []Subscription) error {
	rules := make([]filter.Rule, 0, len(subs))
	for _, s := range subs {
		if err := s.Validate(); err != nil {
			return err
		}
		if _, err := c.Resolve(s.TargetARN); err != nil {
			return err
		}
		r := s.Rule
		if r.ID == "" {
			r.ID = s.ID
		}
		rules = append(rules, r)
	}
	if err := filter.ValidateConfig(rules...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSubscription, err)
	}
	return nil
}

// SubscriptionSource supplies the current subscriptions of every bucket.
// Implementations: MemorySource (tests, static setups) and
// notifications.Store (the JetStream KV bucket SLUICE_NOTIFICATIONS that
// s3front writes); one that polls an admin API fits as well.
type SubscriptionSource interface {
	// Watch returns a channel that receives the complete current set of
	// subscriptions at once, and the complete set again after every
	// change. A slow reader only misses intermediate sets, never the
	// latest. The channel is closed when ctx ends or the source fails;
	// Watch returns an error when it cannot start.
	Watch(ctx context.Context) (<-chan []Subscription, error)
}

// MemorySource is an in-memory SubscriptionSource. It is safe for
// concurrent use.
type MemorySource struct {
	mu       sync.Mutex
	buckets  map[string][]Subscription
	watchers map[chan []Subscription]struct{}
}

var _ SubscriptionSource = (*MemorySource)(nil)

// NewMemorySource returns a source holding subs.
func NewMemorySource(subs ...Subscription) *MemorySource {
	m := &MemorySource{buckets: map[string][]Subscription{}, watchers: map[chan []Subscription]struct{}{}}
	for _, s := range subs {
		m.buckets[s.Bucket] = append(m.buckets[s.Bucket], s)
	}
	return m
}

// Set replaces the subscriptions of bucket (none removes them) and
// notifies watchers. Subscriptions whose Bucket differs are stored under
// bucket all the same.
func (m *MemorySource) Set(bucket string, subs []Subscription) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(subs) == 0 {
		delete(m.buckets, bucket)
	} else {
		cp := slices.Clone(subs)
		for i := range cp {
			cp[i].Bucket = bucket
		}
		m.buckets[bucket] = cp
	}
	all := m.allLocked()
	for ch := range m.watchers {
		sendLatest(ch, all)
	}
}

// All returns every subscription, ordered by bucket.
func (m *MemorySource) All() []Subscription {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.allLocked()
}

func (m *MemorySource) allLocked() []Subscription {
	var out []Subscription
	for _, b := range slices.Sorted(maps.Keys(m.buckets)) {
		out = append(out, m.buckets[b]...)
	}
	return out
}

// Watch implements SubscriptionSource.
func (m *MemorySource) Watch(ctx context.Context) (<-chan []Subscription, error) {
	ch := make(chan []Subscription, 1)
	m.mu.Lock()
	m.watchers[ch] = struct{}{}
	ch <- m.allLocked()
	m.mu.Unlock()
	context.AfterFunc(ctx, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.watchers, ch)
		close(ch)
	})
	return ch, nil
}

// sendLatest replaces whatever ch holds with v. ch must have capacity 1
// and this must be its only sender (callers serialize).
func sendLatest[T any](ch chan T, v T) {
	select {
	case <-ch:
	default:
	}
	ch <- v
}

// index holds the subscriptions per target name and bucket, with the
// filter subjects each target's consumer needs. It is immutable once built.
type index struct {
	byTarget map[string]map[string][]Subscription
	filters  map[string][]string
}

// buildIndex sorts subs by target. Subscriptions that are invalid or name
// no configured target are left out and returned as problems.
func buildIndex(cfg Config, subs []Subscription) (*index, []error) {
	ix := &index{byTarget: map[string]map[string][]Subscription{}, filters: map[string][]string{}}
	var problems []error
	for _, s := range subs {
		if err := s.Validate(); err != nil {
			problems = append(problems, fmt.Errorf("bucket %q, configuration %q: %w", s.Bucket, s.ID, err))
			continue
		}
		t, err := cfg.Resolve(s.TargetARN)
		if err != nil {
			problems = append(problems, fmt.Errorf("bucket %q, configuration %q: %w", s.Bucket, s.ID, err))
			continue
		}
		if ix.byTarget[t.Name] == nil {
			ix.byTarget[t.Name] = map[string][]Subscription{}
		}
		ix.byTarget[t.Name][s.Bucket] = append(ix.byTarget[t.Name][s.Bucket], s)
	}
	for name, buckets := range ix.byTarget {
		var fs []string
		for bucket, bs := range buckets {
			slices.SortFunc(bs, func(a, b Subscription) int { return strings.Compare(a.ID, b.ID) })
			f, err := bucketFilters(bucket, bs)
			if err != nil {
				problems = append(problems, fmt.Errorf("bucket %q: %w", bucket, err))
				continue
			}
			fs = append(fs, f...)
		}
		slices.Sort(fs)
		ix.filters[name] = fs
	}
	return ix, problems
}

// bucketFilters returns the NATS filter subjects selecting the events the
// subscriptions of one bucket name, without overlaps (JetStream rejects
// overlapping filters): a "Category:*" pattern covers that category's
// exact names.
func bucketFilters(bucket string, subs []Subscription) ([]string, error) {
	wild := map[string]bool{}
	var exact []events.Pattern
	for _, s := range subs {
		for _, p := range s.Rule.Events {
			pat, err := events.ParsePattern(p)
			if err != nil {
				return nil, err
			}
			if pat.Wildcard {
				wild[pat.Category] = true
			} else {
				exact = append(exact, pat)
			}
		}
	}
	set := map[string]bool{}
	for cat := range wild {
		f, err := subject.ForPattern(bucket, events.S3Prefix+cat+":*")
		if err != nil {
			return nil, err
		}
		set[f] = true
	}
	for _, p := range exact {
		if wild[p.Category] {
			continue
		}
		f, err := subject.ForPattern(bucket, p.String())
		if err != nil {
			return nil, err
		}
		set[f] = true
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// match returns the first subscription (by ID) of target for rec's bucket
// whose rule selects rec.
func (ix *index) match(target string, rec events.Record) (Subscription, bool) {
	for _, s := range ix.byTarget[target][rec.Bucket()] {
		if s.Rule.MatchRecord(rec) {
			return s, true
		}
	}
	return Subscription{}, false
}

// count returns how many subscriptions name target.
func (ix *index) count(target string) int {
	n := 0
	for _, bs := range ix.byTarget[target] {
		n += len(bs)
	}
	return n
}
