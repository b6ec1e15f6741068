package server_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/s3front/server"
)

// notifyRecorder is a server.NotifyFunc that records its calls and fails
// while fail is set.
type notifyRecorder struct {
	mu    sync.Mutex
	calls []notifyCall
	fail  bool
}

type notifyCall struct {
	bucket string
	subs   []deliver.Subscription
}

func (n *notifyRecorder) notify(_ context.Context, bucket string, subs []deliver.Subscription) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return errors.New("bus down")
	}
	n.calls = append(n.calls, notifyCall{bucket, slices.Clone(subs)})
	return nil
}

func (n *notifyRecorder) last(t *testing.T) notifyCall {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.calls) == 0 {
		t.Fatal("Notify was not called")
	}
	return n.calls[len(n.calls)-1]
}

func (n *notifyRecorder) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.calls)
}

func (n *notifyRecorder) setFail(v bool) {
	n.mu.Lock()
	n.fail = v
	n.mu.Unlock()
}

func keyFilter(prefix string) *types.NotificationConfigurationFilter {
	return &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{
		{Name: types.FilterRuleNamePrefix, Value: aws.String(prefix)},
	}}}
}

func TestPutBucketNotificationTargets(t *testing.T) {
	rec := &notifyRecorder{}
	e := newEnv(t, func(o *server.Options) { o.Notify = rec.notify })
	ctx := context.Background()
	e.mkBucket(e.alice, "notes")
	b := aws.String("notes")

	bad := []struct {
		name string
		cfg  types.NotificationConfiguration
		arg  string // ArgumentName expected in the error body, "" = not checked
	}{
		{"unknown webhook", types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
			QueueArn: aws.String("arn:sluice:webhook::nope"), Events: []types.Event{"s3:ObjectCreated:*"}}}}, "arn:sluice:webhook::nope"},
		{"target of another kind", types.NotificationConfiguration{LambdaFunctionConfigurations: []types.LambdaFunctionConfiguration{{
			LambdaFunctionArn: aws.String("arn:sluice:function::hook"), Events: []types.Event{"s3:ObjectCreated:*"}}}}, "arn:sluice:function::hook"},
		{"aws arn", types.NotificationConfiguration{TopicConfigurations: []types.TopicConfiguration{{
			TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:t"), Events: []types.Event{"s3:ObjectCreated:*"}}}}, "arn:aws:sns:us-east-1:123456789012:t"},
		{"unknown nats subject", types.NotificationConfiguration{TopicConfigurations: []types.TopicConfiguration{{
			TopicArn: aws.String("arn:sluice:nats::other.subject"), Events: []types.Event{"s3:ObjectCreated:*"}}}}, "arn:sluice:nats::other.subject"},
		{"overlapping filters", types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{
			{Id: aws.String("a"), QueueArn: aws.String("arn:sluice:webhook::hook"), Events: []types.Event{"s3:ObjectCreated:*"}, Filter: keyFilter("img/")},
			{Id: aws.String("b"), QueueArn: aws.String("arn:sluice:webhook::hook"), Events: []types.Event{"s3:ObjectCreated:Put"}, Filter: keyFilter("img/x")},
		}}, ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			_, err := e.alice.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b, NotificationConfiguration: &cfg})
			wantCode(t, tc.name, err, "InvalidArgument")
			if tc.arg != "" {
				r := e.do("PUT", "/notes?notification", []byte(notificationXML(tc.arg)), nil, "")
				body := string(r.Body)
				if r.Status != 400 || r.Code != "InvalidArgument" || !strings.Contains(body, "<ArgumentName>"+tc.arg+"</ArgumentName>") ||
					r.Msg != "Unable to validate the following destination configurations" {
					t.Fatalf("raw answer %d %s", r.Status, body)
				}
			}
		})
	}
	if rec.count() != 0 {
		t.Fatalf("Notify called for rejected configurations: %+v", rec.calls)
	}

	good := &types.NotificationConfiguration{
		QueueConfigurations: []types.QueueConfiguration{{
			Id: aws.String("thumbs"), QueueArn: aws.String("arn:sluice:webhook::hook"),
			Events: []types.Event{"s3:ObjectCreated:*"}, Filter: keyFilter("img/"),
		}},
		TopicConfigurations: []types.TopicConfiguration{{
			Id: aws.String("audit"), TopicArn: aws.String("arn:sluice:nats::audit.s3"), Events: []types.Event{"s3:ObjectRemoved:*"},
		}},
	}
	if _, err := e.alice.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b, NotificationConfiguration: good}); err != nil {
		t.Fatal(err)
	}
	call := rec.last(t)
	if call.bucket != "notes" || len(call.subs) != 2 {
		t.Fatalf("Notify(%q, %+v)", call.bucket, call.subs)
	}
	want := map[string]deliver.Subscription{}
	for _, s := range call.subs {
		want[s.ID] = s
	}
	if s := want["thumbs"]; s.TargetARN != "arn:sluice:webhook::hook" || s.Bucket != "notes" ||
		len(s.Rule.Key) != 1 || s.Rule.Key[0].Name != "prefix" || s.Rule.Key[0].Value != "img/" ||
		!slices.Equal(s.Rule.Events, []string{"s3:ObjectCreated:*"}) {
		t.Fatalf("thumbs subscription = %+v", s)
	}
	if s := want["audit"]; s.TargetARN != "arn:sluice:nats::audit.s3" || !slices.Equal(s.Rule.Events, []string{"s3:ObjectRemoved:*"}) {
		t.Fatalf("audit subscription = %+v", s)
	}

	// Notify failing: 503, and the retry once it works applies it.
	rec.setFail(true)
	_, err := e.alice.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b, NotificationConfiguration: good})
	wantCode(t, "notify failing", err, "ServiceUnavailable")
	rec.setFail(false)

	// An empty configuration and DeleteBucket remove the subscriptions.
	n := rec.count()
	if _, err := e.alice.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b, NotificationConfiguration: &types.NotificationConfiguration{}}); err != nil {
		t.Fatal(err)
	}
	if c := rec.last(t); rec.count() != n+1 || len(c.subs) != 0 {
		t.Fatalf("empty configuration: Notify(%q, %+v)", c.bucket, c.subs)
	}
	if _, err := e.alice.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b, NotificationConfiguration: good}); err != nil {
		t.Fatal(err)
	}
	n = rec.count()
	if _, err := e.alice.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if c := rec.last(t); rec.count() != n+1 || c.bucket != "notes" || len(c.subs) != 0 {
		t.Fatalf("DeleteBucket: Notify(%q, %+v)", c.bucket, c.subs)
	}
}

func notificationXML(arn string) string {
	return `<NotificationConfiguration><QueueConfiguration><Queue>` + arn +
		`</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>`
}
