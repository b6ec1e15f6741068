package notifybench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Target is the webhook target a test configures in Sluice.
type Target struct {
	// Name is the target's name; its ARN is arn:sluice:webhook::<Name>.
	Name string
	// URL receives the deliveries (Receiver.URL).
	URL string
	// Secret signs them.
	Secret string
	// Concurrency is deliveries at once per events process; zero means Sluice's default.
	Concurrency int
	// AckWait is the delivery consumers' AckWait (events.ack_wait); zero means
	// Sluice's default (30s).
	AckWait time.Duration
	// BackoffInitial and BackoffMax are the retry backoff; zero means Sluice's
	// defaults.
	BackoffInitial, BackoffMax time.Duration
}

// ARN returns the target's ARN.
func (t Target) ARN() string { return "arn:sluice:webhook::" + t.Name }

// ConfigYAML returns a sluice configuration file (for -config or $SLUICE_CONFIG)
// holding only the events section with t; listen addresses and the data directory
// come from flags. Values are quoted as YAML strings, so any URL or secret survives.
func ConfigYAML(t Target) string {
	var b strings.Builder
	fmt.Fprintf(&b, "events:\n")
	if t.AckWait > 0 {
		fmt.Fprintf(&b, "  ack_wait: %s\n", t.AckWait)
	}
	fmt.Fprintf(&b, "  targets:\n")
	fmt.Fprintf(&b, "    - name: %q\n      kind: webhook\n      url: %q\n", t.Name, t.URL)
	if t.Secret != "" {
		fmt.Fprintf(&b, "      secret: %q\n", t.Secret)
	}
	if t.Concurrency > 0 {
		fmt.Fprintf(&b, "      concurrency: %d\n", t.Concurrency)
	}
	if t.BackoffInitial > 0 || t.BackoffMax > 0 {
		fmt.Fprintf(&b, "      backoff: {initial: %s, max: %s, jitter: 0.2}\n", t.BackoffInitial, t.BackoffMax)
	}
	return b.String()
}

// WriteConfig writes ConfigYAML(t) to path, readable by the owner only (it holds the
// secret). It returns the file system's error wrapped.
func WriteConfig(path string, t Target) error {
	if err := os.WriteFile(path, []byte(ConfigYAML(t)), 0o600); err != nil {
		return fmt.Errorf("notifybench: write config: %w", err)
	}
	return nil
}

// Subscribe sends bucket's ObjectCreated events to t with
// PutBucketNotificationConfiguration; once it returned, every object written is
// delivered to t (s3front answers when a running events service follows the
// subscription, or when none runs). s3front answers 503 until its events stream
// exists; Subscribe retries that every 50 ms until ctx ends. Other errors are
// returned as the SDK reports them.
func Subscribe(ctx context.Context, client *s3.Client, bucket string, t Target) error {
	for {
		_, err := client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String(bucket),
			NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
				Id: aws.String("notifybench"), QueueArn: aws.String(t.ARN()), Events: []types.Event{"s3:ObjectCreated:*"},
			}}},
		})
		if err == nil || !strings.Contains(err.Error(), "ServiceUnavailable") {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("notifybench: subscribe %s: %w (last: %w)", bucket, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
