package deliver_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/filter"
)

func TestParseARN(t *testing.T) {
	tests := []struct {
		in   string
		want deliver.ARN
		err  error
	}{
		{"arn:sluice:webhook::orders", deliver.ARN{Kind: deliver.KindWebhook, Resource: "orders"}, nil},
		{"arn:sluice:function::thumb-1", deliver.ARN{Kind: deliver.KindFunction, Resource: "thumb-1"}, nil},
		{"arn:sluice:nats::hooks.photos", deliver.ARN{Kind: deliver.KindNATS, Resource: "hooks.photos"}, nil},
		{"arn:sluice:nats::a:b", deliver.ARN{Kind: deliver.KindNATS, Resource: "a:b"}, nil},
		{"arn:aws:sqs:us-east-1:123:q", deliver.ARN{}, deliver.ErrInvalidARN},
		{"arn:sluice:webhook:us-east-1:orders", deliver.ARN{}, deliver.ErrInvalidARN},
		{"arn:sluice:webhook::", deliver.ARN{}, deliver.ErrInvalidARN},
		{"arn:sluice:webhook::a.b", deliver.ARN{}, deliver.ErrInvalidARN},
		{"arn:sluice:queue::x", deliver.ARN{}, deliver.ErrInvalidARN},
		{"arn:sluice:nats::sluice.events.x", deliver.ARN{}, deliver.ErrInvalidARN},
		{"arn:sluice:nats::a.*", deliver.ARN{}, deliver.ErrInvalidARN},
		{"arn:sluice:nats::a..b", deliver.ARN{}, deliver.ErrInvalidARN},
		{"", deliver.ARN{}, deliver.ErrInvalidARN},
	}
	for _, tt := range tests {
		got, err := deliver.ParseARN(tt.in)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("ParseARN(%q) error = %v, want %v", tt.in, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseARN(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ARN %q prints as %q", tt.in, got.String())
		}
	}
}

func FuzzParseARN(f *testing.F) {
	for _, s := range []string{"arn:sluice:webhook::orders", "arn:sluice:nats::hooks.photos",
		"arn:sluice:function::f", "arn:sluice:nats::a..b", "arn:sluice:webhook::", "arn:aws:sqs:::x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := deliver.ParseARN(s)
		if err != nil {
			if !errors.Is(err, deliver.ErrInvalidARN) {
				t.Fatalf("error %v does not wrap ErrInvalidARN", err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("%q parses to %+v which prints as %q", s, a, a.String())
		}
	})
}

func TestTargetConfigValidate(t *testing.T) {
	ok := deliver.TargetConfig{Name: "ok", Kind: deliver.KindWebhook, URL: "https://hooks.example.com/x?key=1"}
	tests := []struct {
		name   string
		mutate func(*deliver.TargetConfig)
		want   string // "" means valid
	}{
		{"valid webhook", func(*deliver.TargetConfig) {}, ""},
		{"valid function records", func(c *deliver.TargetConfig) { c.Kind, c.Format = deliver.KindFunction, deliver.FormatRecords }, ""},
		{"valid nats", func(c *deliver.TargetConfig) { c.Kind, c.URL, c.Subject = deliver.KindNATS, "", "hooks.x" }, ""},
		{"valid ordered", func(c *deliver.TargetConfig) { c.Ordered, c.Concurrency = true, 1 }, ""},
		{"empty name", func(c *deliver.TargetConfig) { c.Name = "" }, "name"},
		{"dotted name", func(c *deliver.TargetConfig) { c.Name = "a.b" }, "name"},
		{"long name", func(c *deliver.TargetConfig) { c.Name = strings.Repeat("a", 65) }, "name"},
		{"unknown kind", func(c *deliver.TargetConfig) { c.Kind = "sqs" }, "kind"},
		{"no url", func(c *deliver.TargetConfig) { c.URL = "" }, "url"},
		{"ftp url", func(c *deliver.TargetConfig) { c.URL = "ftp://x/y" }, "scheme"},
		{"userinfo", func(c *deliver.TargetConfig) { c.URL = "https://u:p@x/y" }, "user information"},
		{"bad format", func(c *deliver.TargetConfig) { c.Format = "xml" }, "format"},
		{"webhook subject", func(c *deliver.TargetConfig) { c.Subject = "a" }, "only for nats"},
		{"nats no subject", func(c *deliver.TargetConfig) { c.Kind, c.URL = deliver.KindNATS, "" }, "subject"},
		{"nats loop", func(c *deliver.TargetConfig) { c.Kind, c.URL, c.Subject = deliver.KindNATS, "", "sluice.events.x.y.z" }, "Sluice's own"},
		{"nats wildcard", func(c *deliver.TargetConfig) { c.Kind, c.URL, c.Subject = deliver.KindNATS, "", "a.>" }, "wildcard"},
		{"nats with url", func(c *deliver.TargetConfig) { c.Kind, c.Subject = deliver.KindNATS, "a" }, "only for webhook"},
		{"nats structured", func(c *deliver.TargetConfig) {
			c.Kind, c.URL, c.Subject, c.Format = deliver.KindNATS, "", "a", deliver.FormatStructured
		}, "binary"},
		{"ordered concurrency", func(c *deliver.TargetConfig) { c.Ordered, c.Concurrency = true, 4 }, "ordered"},
		{"negative timeout", func(c *deliver.TargetConfig) { c.Timeout = -time.Second }, "negative"},
		{"huge concurrency", func(c *deliver.TargetConfig) { c.Concurrency = 5000 }, "concurrency"},
		{"backoff max < initial", func(c *deliver.TargetConfig) {
			c.Backoff = deliver.BackoffConfig{Initial: time.Minute, Max: time.Second}
		}, "backoff"},
		{"jitter", func(c *deliver.TargetConfig) { c.Backoff = deliver.BackoffConfig{Jitter: 2} }, "jitter"},
		{"token newline", func(c *deliver.TargetConfig) { c.BearerToken = "a\nb" }, "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, deliver.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig mentioning %q", err, tt.want)
			}
			if c.Secret != "" && strings.Contains(err.Error(), c.Secret) {
				t.Fatalf("error leaks the secret")
			}
		})
	}
}

func TestConfigValidateAndResolve(t *testing.T) {
	cfg := deliver.Config{Targets: []deliver.TargetConfig{
		{Name: "hook", Kind: deliver.KindWebhook, URL: "http://127.0.0.1:1/h", Secret: "topsecret"},
		{Name: "fn", Kind: deliver.KindFunction, URL: "http://127.0.0.1:1/f"},
		{Name: "bus", Kind: deliver.KindNATS, Subject: "hooks.all"},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, tt := range []struct {
		arn, want string
		err       error
	}{
		{"arn:sluice:webhook::hook", "hook", nil},
		{"arn:sluice:function::fn", "fn", nil},
		{"arn:sluice:nats::hooks.all", "bus", nil},
		{"arn:sluice:function::hook", "", deliver.ErrUnknownTarget},
		{"arn:sluice:webhook::nope", "", deliver.ErrUnknownTarget},
		{"arn:sluice:nats::hooks.other", "", deliver.ErrUnknownTarget},
		{"arn:aws:sqs:::q", "", deliver.ErrInvalidARN},
	} {
		got, err := cfg.Resolve(tt.arn)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) || got.Name != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tt.arn, got.Name, err, tt.want, tt.err)
		}
	}
	if s := cfg.Targets[0].String(); strings.Contains(s, "topsecret") {
		t.Errorf("String() leaks the secret: %s", s)
	}
	dup := cfg
	dup.Targets = append(dup.Targets, deliver.TargetConfig{Name: "hook", Kind: deliver.KindWebhook, URL: "http://x/"},
		deliver.TargetConfig{Name: "bus2", Kind: deliver.KindNATS, Subject: "hooks.all"})
	err := dup.Validate()
	if !errors.Is(err, deliver.ErrInvalidConfig) || !strings.Contains(err.Error(), "used twice") || !strings.Contains(err.Error(), "two targets") {
		t.Fatalf("duplicate names/subjects: Validate = %v", err)
	}
	d := cfg.WithDefaults().Targets[1]
	if d.Format != deliver.FormatBinary || d.Timeout != deliver.DefaultTimeout || d.MaxAttempts != deliver.DefaultMaxAttempts ||
		d.Concurrency != deliver.DefaultConcurrency || d.Backoff != deliver.DefaultBackoff {
		t.Fatalf("defaults not applied: %+v", d)
	}
	if o := (deliver.TargetConfig{Ordered: true}).WithDefaults(); o.Concurrency != 1 {
		t.Fatalf("ordered default concurrency = %d, want 1", o.Concurrency)
	}
}

func TestValidateSubscriptions(t *testing.T) {
	cfg := deliver.Config{Targets: []deliver.TargetConfig{
		{Name: "hook", Kind: deliver.KindWebhook, URL: "http://127.0.0.1:1/h"},
		{Name: "fn", Kind: deliver.KindFunction, URL: "http://127.0.0.1:1/f"},
	}}
	sub := func(id, arn string, evs []string, key ...filter.FilterRule) deliver.Subscription {
		return deliver.Subscription{Bucket: "photos", ID: id, TargetARN: arn, Rule: filter.Rule{ID: id, Events: evs, Key: key}}
	}
	created := []string{"s3:ObjectCreated:*"}
	tests := []struct {
		name string
		subs []deliver.Subscription
		err  error
	}{
		{"empty", nil, nil},
		{"one", []deliver.Subscription{sub("a", "arn:sluice:webhook::hook", created)}, nil},
		{"disjoint prefixes", []deliver.Subscription{
			sub("a", "arn:sluice:webhook::hook", created, filter.FilterRule{Name: "prefix", Value: "img/"}),
			sub("b", "arn:sluice:function::fn", created, filter.FilterRule{Name: "prefix", Value: "doc/"}),
		}, nil},
		{"overlap", []deliver.Subscription{
			sub("a", "arn:sluice:webhook::hook", created),
			sub("b", "arn:sluice:function::fn", []string{"s3:ObjectCreated:Put"}),
		}, filter.ErrOverlap},
		{"unknown target", []deliver.Subscription{sub("a", "arn:sluice:webhook::nope", created)}, deliver.ErrUnknownTarget},
		{"foreign arn", []deliver.Subscription{sub("a", "arn:aws:sqs:us-east-1:1:q", created)}, deliver.ErrInvalidARN},
		{"no events", []deliver.Subscription{sub("a", "arn:sluice:webhook::hook", nil)}, filter.ErrNoEvents},
		{"test event", []deliver.Subscription{sub("a", "arn:sluice:webhook::hook", []string{"s3:TestEvent"})}, deliver.ErrInvalidSubscription},
		{"bad key rule", []deliver.Subscription{sub("a", "arn:sluice:webhook::hook", created, filter.FilterRule{Name: "middle", Value: "x"})}, filter.ErrInvalidFilterName},
		{"no bucket", []deliver.Subscription{{TargetARN: "arn:sluice:webhook::hook", Rule: filter.Rule{Events: created}}}, deliver.ErrInvalidSubscription},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cfg.ValidateSubscriptions(tt.subs)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("ValidateSubscriptions = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestConfigAckWait(t *testing.T) {
	target := deliver.TargetConfig{Name: "hook", Kind: deliver.KindWebhook, URL: "http://127.0.0.1:1/h"}
	tests := []struct {
		ackWait time.Duration
		valid   bool
	}{
		{0, true},
		{deliver.MinAckWait, true},
		{2 * time.Minute, true},
		{deliver.MinAckWait - time.Millisecond, false},
		{-time.Second, false},
	}
	for _, tt := range tests {
		cfg := deliver.Config{Targets: []deliver.TargetConfig{target}, AckWait: tt.ackWait}
		err := cfg.Validate()
		if tt.valid != (err == nil) || (err != nil && !errors.Is(err, deliver.ErrInvalidConfig)) {
			t.Errorf("ack_wait %v: Validate = %v, want valid %v", tt.ackWait, err, tt.valid)
		}
		if tt.valid && cfg.WithDefaults().AckWait != tt.ackWait {
			t.Errorf("ack_wait %v: WithDefaults changed it to %v", tt.ackWait, cfg.WithDefaults().AckWait)
		}
	}
}
