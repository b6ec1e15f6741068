package replicator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/events/subject"
	"github.com/sluice-io/sluice/services/location"
	s3loc "github.com/sluice-io/sluice/services/location/s3"
	"github.com/sluice-io/sluice/services/runtime"
)

// ErrUnknownDestination is returned by the operations for a destination
// this replicator does not serve.
var ErrUnknownDestination = errors.New("replicator: unknown destination")

// ErrNotRunning is returned by operations that need Run to have started.
var ErrNotRunning = errors.New("replicator: not running")

// Service is the replicator. Create it with New and start it with Run.
type Service struct {
	cfg     Config
	set     runtime.Settings
	log     *zap.Logger
	clock   runtime.Clock
	bus     *bus.Bus
	metrics *metrics
	source  *source
	http    *http.Client
	locks   keyLocks

	mu      sync.RWMutex
	rules   rules.Snapshot // nil until the first snapshot
	state   *state
	store   *rules.Store
	dests   map[string]*destination
	running bool
}

// destination is one destination's driver and consumer loop.
type destination struct {
	svc  *Service
	name string
	drv  location.Driver
	// md5First: the destination is an s3 location, whose driver must know
	// an object's MD5 before a multipart upload (see copy).
	md5First bool

	mu     sync.Mutex
	loop   *bus.Loop
	paused bool
}

// New checks cfg and builds the service; it does no I/O. When set.Admin
// is not nil it mounts the admin routes (see Mount) on it, and when
// set.Ready is not nil it registers the readiness check "replicator"
// (ready while Run runs). It returns an error wrapping ErrInvalidConfig,
// bus.ErrInvalidSpec when set has no JetStream, health.ErrBadRoute or
// health.ErrDuplicateCheck.
func New(cfg Config, set runtime.Settings) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	slices.Sort(cfg.Destinations)
	log := set.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("replicator")
	b, err := bus.New(set.JetStream, bus.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	var reg prometheus.Registerer // a nil *Registry must stay a nil interface
	if set.Registry != nil {
		reg = set.Registry
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	clock := set.Clock
	if clock == nil {
		clock = runtime.SystemClock{}
	}
	hc := &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
	}}
	s := &Service{
		cfg: cfg, set: set, log: log, clock: clock, bus: b, metrics: m,
		source: newSource(cfg.Source, hc), http: hc, dests: map[string]*destination{},
	}
	if set.Admin != nil {
		if err := s.Mount(set.Admin); err != nil {
			return nil, err
		}
	}
	if set.Ready != nil {
		if err := set.Ready.AddCheck("replicator", s.ready); err != nil {
			return nil, fmt.Errorf("replicator: readiness check: %w", err)
		}
	}
	return s, nil
}

// ready reports whether Run has set up and started the destinations.
func (s *Service) ready(context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.running {
		return ErrNotRunning
	}
	return nil
}

// Bus returns the bus the service publishes and consumes with.
func (s *Service) Bus() *bus.Bus { return s.bus }

// consumerSpec is the durable consumer of a destination: object events of
// every bucket (created, removed, tagging) plus its redrive subject.
func (s *Service) consumerSpec(dest string) (bus.ConsumerSpec, error) {
	var filters []string
	for _, c := range []string{"ObjectCreated", "ObjectRemoved", "ObjectTagging"} {
		f, err := subject.Category(c)
		if err != nil {
			return bus.ConsumerSpec{}, err
		}
		filters = append(filters, f)
	}
	return bus.ConsumerSpec{
		Stream: bus.EventsStreamName, Durable: ConsumerName(dest),
		Description:    "Sluice replication to location " + dest,
		FilterSubjects: filters, AckWait: s.cfg.AckWait,
		MaxAckPending: max(1000, 4*s.cfg.Concurrency), Replicas: s.set.StreamReplicas,
	}, nil
}

// Setup ensures the streams, consumers and key-value buckets the
// replicator uses; Run calls it. s3front or the root command may call it
// earlier so that events are captured before the replicator first runs.
func (s *Service) Setup(ctx context.Context) error {
	ev := bus.EventsStreamSpec()
	dlq := bus.DLQStreamSpec()
	st := status.StreamSpec(s.set.StreamReplicas)
	for _, spec := range []bus.StreamSpec{ev, dlq, st} {
		if s.set.StreamReplicas > 0 {
			spec.Replicas = s.set.StreamReplicas
		}
		if _, err := s.bus.EnsureStream(ctx, spec); err != nil {
			return fmt.Errorf("replicator: ensure stream %s: %w", spec.Name, err)
		}
	}
	for _, d := range s.cfg.Destinations {
		spec, err := s.consumerSpec(d)
		if err != nil {
			return err
		}
		if _, err := s.bus.EnsureConsumer(ctx, spec); err != nil {
			return fmt.Errorf("replicator: ensure consumer for %s: %w", d, err)
		}
	}
	stt, err := openState(ctx, s.set.JetStream, s.set.StreamReplicas)
	if err != nil {
		return err
	}
	store, err := rules.OpenStore(ctx, s.set.JetStream, s.set.StreamReplicas)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.state, s.store = stt, store
	s.mu.Unlock()
	return nil
}

// Run sets up, opens the destinations, watches the rules and runs one
// consumer loop per destination (stopped while the destination is paused)
// until ctx ends; it then stops the loops (un-acked messages go back to the
// consumer) and closes the drivers. It returns nil when ctx ended, or the
// error that stopped it.
func (s *Service) Run(ctx context.Context) error {
	defer s.http.CloseIdleConnections()
	if err := s.Setup(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	snaps, err := s.store.Watch(ctx, func(key string, err error) {
		s.log.Warn("skipping bad replication rules", zap.String("key", key), zap.Error(err))
	})
	if err != nil {
		return err
	}
	// Wait for the first snapshot so that events are not judged against
	// an empty rule set.
	var first rules.Snapshot
	select {
	case <-ctx.Done():
		return nil
	case snap, ok := <-snaps:
		if !ok {
			return fmt.Errorf("replicator: rules watch ended")
		}
		s.setRules(snap)
		first = snap
	}
	drivers := map[string]location.Driver{}
	defer func() {
		for _, d := range drivers {
			_ = d.Close()
		}
	}()
	for _, name := range s.cfg.Destinations {
		drv, err := location.Open(ctx, name, destinationConfig(s.cfg.Locations[name]), s.log)
		if err != nil {
			return fmt.Errorf("replicator: open destination %s: %w", name, err)
		}
		drivers[name] = drv
	}
	s.mu.Lock()
	for name, drv := range drivers {
		s.dests[name] = &destination{svc: s, name: name, drv: drv, md5First: s.cfg.Locations[name].Type == location.TypeS3}
	}
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()

	var wg sync.WaitGroup
	errc := make(chan error, len(drivers)+1)
	for _, name := range s.cfg.Destinations {
		d := s.dests[name]
		pausedc, err := s.state.watchPaused(ctx, name)
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.control(ctx, pausedc); err != nil {
				errc <- err
				cancel()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for snap := range snaps {
			s.setRules(snap)
			s.backfill(ctx, snap, &wg)
		}
		if ctx.Err() == nil { // the watch failed: rules would go stale
			errc <- fmt.Errorf("replicator: rules watch ended")
			cancel()
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			s.updatePending(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	s.backfill(ctx, first, &wg)
	s.log.Info("replicator started", zap.Strings("destinations", s.cfg.Destinations))
	wg.Wait()
	s.log.Info("replicator stopped")
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// destinationConfig returns the config the replicator opens a destination
// with: for an s3 location, the option replicaMarker defaults to "true", so
// that a destination that is itself a Sluice endpoint stores the copies as
// replicas (x-amz-replication-status REPLICA) and never replicates them
// again; other stores ignore the header. An explicit setting is kept, and
// the shared config is not modified.
func destinationConfig(c location.Config) location.Config {
	if c.Type != location.TypeS3 {
		return c
	}
	if _, set := c.Options[s3loc.OptionReplicaMarker]; set {
		return c
	}
	opts := maps.Clone(c.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	opts[s3loc.OptionReplicaMarker] = "true"
	c.Options = opts
	return c
}

// control starts and stops the destination's loop as its paused flag
// changes, until ctx ends; then it stops the loop.
func (d *destination) control(ctx context.Context, pausedc <-chan bool) error {
	defer d.stop()
	for {
		var loopDone <-chan struct{}
		d.mu.Lock()
		if d.loop != nil {
			loopDone = d.loop.Done()
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case p, ok := <-pausedc:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("replicator: paused watch of %s ended", d.name)
			}
			if p {
				d.stop()
			} else if err := d.start(ctx); err != nil {
				return err
			}
			d.mu.Lock()
			d.paused = p
			d.mu.Unlock()
		case <-loopDone:
			d.mu.Lock()
			l := d.loop
			d.loop = nil
			d.mu.Unlock()
			if ctx.Err() != nil {
				return nil
			}
			if err := l.Err(); err != nil {
				return fmt.Errorf("replicator: consumer loop of %s: %w", d.name, err)
			}
		}
	}
}

func (d *destination) start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.loop != nil {
		return nil
	}
	s := d.svc
	l, err := s.bus.Consume(ctx, bus.ConsumeSpec{
		Stream: bus.EventsStreamName, Consumer: ConsumerName(d.name), Handler: d.handle,
		Concurrency: s.cfg.Concurrency, MaxDeliver: s.cfg.MaxDeliver, Backoff: s.cfg.Backoff,
		Logger: s.log.With(zap.String("destination", d.name)),
	})
	if err != nil {
		return fmt.Errorf("replicator: consume for %s: %w", d.name, err)
	}
	d.loop = l
	s.log.Info("destination running", zap.String("destination", d.name))
	return nil
}

func (d *destination) stop() {
	d.mu.Lock()
	l := d.loop
	d.loop = nil
	d.mu.Unlock()
	if l != nil {
		l.Stop()
		<-l.Done()
		d.svc.log.Info("destination stopped", zap.String("destination", d.name))
	}
}

func (s *Service) setRules(snap rules.Snapshot) {
	s.mu.Lock()
	s.rules = snap
	s.mu.Unlock()
}

// rulesFor returns the bucket's configuration: from the watched snapshot,
// or, when the snapshot has none (the watch may lag a fresh Put), from the
// store.
func (s *Service) rulesFor(ctx context.Context, bucket string) (rules.Config, bool, error) {
	s.mu.RLock()
	c, ok := s.rules[bucket]
	store := s.store
	s.mu.RUnlock()
	if ok {
		return c, true, nil
	}
	c, err := store.Get(ctx, bucket)
	if errors.Is(err, rules.ErrNotFound) {
		return rules.Config{}, false, nil
	}
	if errors.Is(err, rules.ErrInvalidRule) {
		return rules.Config{}, false, nil // reported by the watch
	}
	if err != nil {
		return rules.Config{}, false, err
	}
	return c, true, nil
}

func (s *Service) updatePending(ctx context.Context) {
	for _, d := range s.cfg.Destinations {
		c, err := s.set.JetStream.Consumer(ctx, bus.EventsStreamName, ConsumerName(d))
		if err != nil {
			continue
		}
		info := c.CachedInfo()
		if i, err := c.Info(ctx); err == nil {
			info = i
		}
		s.metrics.pending.WithLabelValues(d).Set(float64(info.NumPending) + float64(info.NumAckPending))
	}
}

// backfill starts a Resync for every (bucket, destination) whose enabled
// rules ask for ExistingObjectReplication and that was not backfilled yet.
// A marker key "eor.<destination>.<bucket key>" in SLUICE_REPLICATION_STATE,
// created atomically, makes exactly one replica run it; the marker is
// removed when the resync fails, so that the next rules change retries.
// Turning the option off and on again does not backfill twice; use Resync.
func (s *Service) backfill(ctx context.Context, snap rules.Snapshot, wg *sync.WaitGroup) {
	for bucket, cfg := range snap {
		for _, dest := range s.cfg.Destinations {
			if !wantsExisting(cfg, dest) {
				continue
			}
			bk, err := rules.KeyFor(bucket)
			if err != nil {
				continue
			}
			marker := "eor." + dest + "." + bk
			if _, err := s.state.kv.Create(ctx, marker, []byte(s.clock.Now().UTC().Format(time.RFC3339))); err != nil {
				continue // done (or being done) by some replica, or NATS is away
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := s.Resync(ctx, dest, bucket, "")
				if err != nil {
					s.log.Warn("existing-object replication failed; will retry on the next rules change",
						zap.String("destination", dest), zap.String("bucket", bucket), zap.Error(err))
					dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
					_ = s.state.kv.Delete(dctx, marker)
					cancel()
					return
				}
				s.log.Info("existing objects enqueued", zap.String("destination", dest),
					zap.String("bucket", bucket), zap.Int("objects", n))
			}()
		}
	}
}

// wantsExisting reports whether an enabled rule of cfg to dest asks for
// existing objects.
func wantsExisting(cfg rules.Config, dest string) bool {
	for _, r := range cfg.Rules {
		if r.Status == rules.Enabled && r.Destination.Location == dest && r.ExistingObjectReplication {
			return true
		}
	}
	return false
}
