package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/admin"
	"github.com/sluice-io/sluice/events/deliver/notifications"
	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/s3front"
	"github.com/sluice-io/sluice/services/config"
	"github.com/sluice-io/sluice/services/runtime"
	"go.uber.org/zap"
)

// The development key pair a newcomer gets when the configuration names none. It is
// written in the README and printed at start-up; set SLUICE_ROOT_ACCESS_KEY and
// SLUICE_ROOT_SECRET_KEY (or root_access_key / root_secret_key) for anything else.
const (
	devRootAccessKey = "sluiceadmin"
	devRootSecretKey = "sluiceadmin"
)

var lookupEnv config.LookupFunc = os.LookupEnv

// fileConfig is the whole configuration of the sluice binary: the part every process
// shares, inline, plus one section per service.
type fileConfig struct {
	config.Common `yaml:",inline"`
	// S3 configures the s3front service.
	S3 s3front.Config `yaml:"s3"`
	// Replication configures the replicator target.
	Replication replicationSection `yaml:"replication"`
	// Events configures the delivery of events to webhooks, functions and NATS subjects.
	Events deliver.Config `yaml:"events"`
	// Indexer configures the metadata index.
	Indexer indexer.Config `yaml:"indexer"`
}

// SetDefaults sets the shared defaults and the development key pair.
func (c *fileConfig) SetDefaults() {
	c.Common.SetDefaults()
	c.RootAccessKey = devRootAccessKey
	c.RootSecretKey = devRootSecretKey
}

// started is a service as the process sees it.
type started struct {
	target runtime.Target
	// banner waits until the service serves, then returns the lines to print (its
	// endpoints and keys); nil when it has nothing to say.
	banner func(ctx context.Context) []string
}

// wiring carries what one service of the process hands another when they run in the
// same process (`run all`); services never share memory otherwise.
type wiring struct {
	// search is the indexer's handler, for s3front's GET /{bucket}?search=.
	search http.Handler
	// all is set under `run all`: optional services with nothing to do stay out.
	all bool
}

// targetFactory builds one service from the configuration and the process settings.
// Factories run in name order, so "indexer" is built before "s3front". A factory may
// return no target (only a banner) when the service has nothing to do under `run all`.
type targetFactory func(cfg *fileConfig, set runtime.Settings, w *wiring) (started, error)

// targets are the services `sluice run <target>` knows; `run all` runs every one.
var targets = map[string]targetFactory{
	"s3front": newS3Front,
	"events":  newEvents,
	"indexer": newIndexer,
	// replicator runs under `run all` only when a destination is configured
	// (replication.destinations, or an s3/azure/gcs location); see replicationIdle.
	"replicator": newReplicator,
}

// newIndexer builds the metadata index: its own durable consumer on the events stream,
// its store under the data directory, and its search APIs under /admin/index/.
func newIndexer(cfg *fileConfig, set runtime.Settings, w *wiring) (started, error) {
	svc, err := indexer.New(cfg.Indexer, set)
	if err != nil {
		return started{}, fmt.Errorf("indexer: %w", err)
	}
	w.search = svc.Handler()
	return started{
		target: runtime.NewTarget(indexer.Name, svc.Run),
		banner: func(context.Context) []string {
			return []string{"index search:  /admin/index/search?q=<where clause>"}
		},
	}, nil
}

// newEvents builds the delivery target: one durable consumer per configured webhook,
// function or NATS target, fed with the subscriptions s3front keeps in the
// SLUICE_NOTIFICATIONS key-value bucket.
func newEvents(cfg *fileConfig, set runtime.Settings, _ *wiring) (started, error) {
	log := set.Logger.Named("events")
	b, err := bus.New(set.JetStream, bus.Options{Logger: log})
	if err != nil {
		return started{}, fmt.Errorf("events: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	source, err := notifications.Open(ctx, set.JetStream, notifications.Options{Replicas: set.StreamReplicas, Logger: log})
	if err != nil {
		return started{}, fmt.Errorf("events: notifications: %w", err)
	}
	d, err := deliver.New(cfg.Events, deliver.Settings{
		Logger:   log,
		Bus:      b,
		Registry: set.Registry,
		Clock:    set.Clock.Now,
		Source:   source,
	})
	if err != nil {
		return started{}, fmt.Errorf("events: %w", err)
	}
	if err := admin.Mount(set.Admin, d, log); err != nil {
		return started{}, fmt.Errorf("events: admin: %w", err)
	}
	return started{
		target: runtime.NewTarget("events", d.Run),
		banner: func(context.Context) []string {
			return []string{fmt.Sprintf("event targets: %d configured (admin: /admin/events/targets)", len(cfg.Events.Targets))}
		},
	}, nil
}

func newS3Front(cfg *fileConfig, set runtime.Settings, w *wiring) (started, error) {
	s3cfg := cfg.S3.WithCommon(cfg.Common).WithEvents(cfg.Events)
	if w.search != nil {
		s3cfg = s3cfg.WithSearch(w.search)
	}
	svc, err := s3front.New(s3cfg, set)
	if err != nil {
		return started{}, fmt.Errorf("s3front: %w", err)
	}
	secret := "(from configuration)"
	if cfg.RootSecretKey == devRootSecretKey {
		set.Logger.Warn("the S3 root key pair is the development default; set SLUICE_ROOT_ACCESS_KEY and SLUICE_ROOT_SECRET_KEY for anything but a laptop")
		secret = devRootSecretKey + " (development default: set SLUICE_ROOT_SECRET_KEY)"
	}
	return started{
		target: runtime.NewTarget("s3front", svc.Run),
		banner: func(ctx context.Context) []string {
			select {
			case <-svc.Started():
			case <-ctx.Done():
				return nil
			}
			if svc.Addr() == "" {
				return nil // Run failed before binding; the process reports why
			}
			return []string{
				"S3 endpoint:   http://" + svc.Addr(),
				"access key:    " + cfg.RootAccessKey,
				"secret key:    " + secret,
			}
		},
	}, nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, fv := newFlagSet("run", stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sluice run all|<target> [flags]\ntargets: %s\n", targetNames())
		fs.PrintDefaults()
	}
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	names, err := selectTargets(name)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	cfg, err := fv.load(lookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: configuration is invalid: %v\n", err)
		return exitFailed
	}
	if err := run(ctx, cfg, name, names, stdout); err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// selectTargets turns the target argument into the list of services to run.
func selectTargets(name string) ([]string, error) {
	if name == "all" {
		names := make([]string, 0, len(targets))
		for n := range targets {
			names = append(names, n)
		}
		sort.Strings(names)
		return names, nil
	}
	if _, ok := targets[name]; ok {
		return []string{name}, nil
	}
	if name == "" {
		return nil, fmt.Errorf("run needs a target")
	}
	return nil, fmt.Errorf("unknown target %q", name)
}

// run starts the process runtime (logger, NATS, HTTP listener), makes sure the event
// streams exist, builds the named services and runs them until ctx ends or SIGTERM/SIGINT
// arrives, then shuts everything down in order.
func run(ctx context.Context, cfg *fileConfig, label string, names []string, stdout io.Writer) error {
	ctx, stop := runtime.SignalContext(ctx)
	defer stop()

	proc, err := runtime.New(cfg.Common, runtime.WithName("sluice-"+label))
	if err != nil {
		return err
	}
	set, err := proc.Start(ctx)
	if err != nil {
		return err
	}
	if err := ensureStreams(ctx, set); err != nil {
		_ = proc.Shutdown(context.WithoutCancel(ctx))
		return err
	}
	var (
		services []started
		w        = wiring{all: label == "all"}
		running  []string
		run      []runtime.Target
	)
	for _, n := range names {
		s, err := targets[n](cfg, set, &w)
		if err != nil {
			_ = proc.Shutdown(context.WithoutCancel(ctx))
			return err
		}
		services = append(services, s)
		if s.target != nil {
			running = append(running, n)
			run = append(run, s.target)
		}
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx, run...) }()

	fmt.Fprintf(stdout, "sluice %s: running %s\n", version, strings.Join(running, ", "))
	for _, s := range services {
		if s.banner == nil {
			continue
		}
		for _, line := range s.banner(ctx) {
			fmt.Fprintln(stdout, "  "+line)
		}
	}
	fmt.Fprintln(stdout, "  health/admin:  http://"+proc.HTTPAddr()+"  (/healthz /readyz /metrics)")
	fmt.Fprintln(stdout, "  NATS:          "+proc.NATSURL())
	return <-done
}

// ensureStreams creates or updates the streams every service relies on: the events
// stream and the dead-letter stream, with the configured replica count.
func ensureStreams(ctx context.Context, set runtime.Settings) error {
	b, err := bus.New(set.JetStream, bus.Options{Logger: set.Logger.Named("bus")})
	if err != nil {
		return err
	}
	for _, spec := range []bus.StreamSpec{bus.EventsStreamSpec(), bus.DLQStreamSpec()} {
		if set.StreamReplicas > 0 {
			spec.Replicas = set.StreamReplicas
		}
		res, err := b.EnsureStream(ctx, spec)
		if err != nil {
			return fmt.Errorf("stream %s: %w", spec.Name, err)
		}
		set.Logger.Info("stream ready", zap.String("stream", spec.Name), zap.Stringer("result", res))
	}
	return nil
}
