package s3front_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/s3front"
	"github.com/sluice-io/sluice/services/location"
)

// withReplicaLocations configures "local" plus two destinations.
func withReplicaLocations(dataDir string) func(*s3front.Config) {
	return func(c *s3front.Config) {
		c.Locations = map[string]location.Config{}
		for _, n := range []string{"local", "backup", "dr"} {
			c.Locations[n] = location.Config{Type: location.TypeFS, Path: filepath.Join(dataDir, "loc-"+n)}
		}
	}
}

func replRule(id string, prio int32, dest types.Destination, filter *types.ReplicationRuleFilter) types.ReplicationRule {
	return types.ReplicationRule{
		ID:                      aws.String(id),
		Priority:                aws.Int32(prio),
		Status:                  types.ReplicationRuleStatusEnabled,
		Filter:                  filter,
		DeleteMarkerReplication: &types.DeleteMarkerReplication{Status: types.DeleteMarkerReplicationStatusEnabled},
		Destination:             &dest,
	}
}

func putRepl(ctx context.Context, c *s3.Client, bucket string, rs ...types.ReplicationRule) error {
	_, err := c.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{
		Bucket:                   aws.String(bucket),
		ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"), Rules: rs},
	})
	return err
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// waitRules polls the rules store until check accepts the bucket's entry.
func waitRules(t *testing.T, st *rules.Store, bucket string, check func(rules.Config, error) error) {
	t.Helper()
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return check(st.Get(ctx, bucket))
	})
}

func wantNoRules(c rules.Config, err error) error {
	if !errors.Is(err, rules.ErrNotFound) {
		return errors.New("rules still stored")
	}
	return nil
}

func TestServiceReplicationRules(t *testing.T) {
	ns := natstest.RunJetStream(t)
	dataDir := t.TempDir()
	e := startServiceOn(t, ns, dataDir, withReplicaLocations(dataDir), s3front.Hooks{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := rules.OpenStore(ctx, ns.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	const b = "photos"
	if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	all := &types.ReplicationRuleFilter{Prefix: aws.String("")}
	byClass := types.Destination{Bucket: aws.String("arn:aws:s3:::anything"), StorageClass: "backup"}
	if err := putRepl(ctx, e.client, b, replRule("r1", 1, byClass, all)); errCode(err) != "InvalidRequest" {
		t.Fatalf("without versioning: %v", err)
	}
	if _, err := e.client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		dest types.Destination
		code string
	}{
		{"unknown location", types.Destination{Bucket: aws.String("arn:aws:s3:::nowhere"), StorageClass: "STANDARD"}, "InvalidRequest"},
		{"not a bucket ARN", types.Destination{Bucket: aws.String("backup")}, "InvalidArgument"},
		{"ARN with a path", types.Destination{Bucket: aws.String("arn:aws:s3:::backup/x")}, "InvalidArgument"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := putRepl(ctx, e.client, b, replRule("r1", 1, tc.dest, all)); errCode(err) != tc.code {
				t.Fatalf("PutBucketReplication = %v, want %s", err, tc.code)
			}
			if _, err := st.Get(ctx, b); !errors.Is(err, rules.ErrNotFound) {
				t.Fatalf("rejected configuration reached the store: %v", err)
			}
		})
	}

	byARN := types.Destination{Bucket: aws.String("arn:aws:s3:::dr")}
	tagged := &types.ReplicationRuleFilter{And: &types.ReplicationRuleAndOperator{
		Prefix: aws.String("raw/"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}
	r2 := replRule("r2", 2, byARN, tagged)
	r2.ExistingObjectReplication = &types.ExistingObjectReplication{Status: types.ExistingObjectReplicationStatusEnabled}
	r2.DeleteMarkerReplication.Status = types.DeleteMarkerReplicationStatusDisabled
	if err := putRepl(ctx, e.client, b, replRule("r1", 1, byClass, all), r2); err != nil {
		t.Fatalf("PutBucketReplication: %v", err)
	}
	got, err := st.Get(ctx, b)
	if err != nil {
		t.Fatalf("rules after PUT: %v", err)
	}
	want := map[string]rules.Rule{
		"r1": {ID: "r1", Priority: 1, Status: rules.Enabled, Destination: rules.Destination{Location: "backup"}, DeleteMarkerReplication: true},
		"r2": {ID: "r2", Priority: 2, Status: rules.Enabled, Destination: rules.Destination{Location: "dr"}, ExistingObjectReplication: true,
			Filter: rules.Filter{Prefix: "raw/", Tags: map[string]string{"k": "v"}}},
	}
	if got.Bucket != b || len(got.Rules) != len(want) {
		t.Fatalf("rules = %+v", got)
	}
	for _, r := range got.Rules {
		w := want[r.ID]
		if r.Priority != w.Priority || r.Status != w.Status || r.Destination != w.Destination ||
			r.DeleteMarkerReplication != w.DeleteMarkerReplication || r.ExistingObjectReplication != w.ExistingObjectReplication ||
			r.Filter.Prefix != w.Filter.Prefix || len(r.Filter.Tags) != len(w.Filter.Tags) || r.Filter.Tags["k"] != w.Filter.Tags["k"] {
			t.Fatalf("rule %s = %+v, want %+v", r.ID, r, w)
		}
	}

	// DeleteBucketReplication removes the entry.
	if _, err := e.client.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, b); !errors.Is(err, rules.ErrNotFound) {
		t.Fatalf("after DeleteBucketReplication: %v", err)
	}

	// The startup sync restores an entry lost from the key-value bucket.
	if err := putRepl(ctx, e.client, b, replRule("r1", 1, byClass, all)); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := startServiceOn(t, ns, dataDir, withReplicaLocations(dataDir), s3front.Hooks{})
	waitRules(t, st, b, func(c rules.Config, err error) error {
		if err != nil {
			return err
		}
		if len(c.Rules) != 1 || c.Rules[0].Destination.Location != "backup" {
			return errors.New("unexpected rules after sync")
		}
		return nil
	})

	// DeleteBucket removes the entry too.
	if _, err := e2.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	waitRules(t, st, b, wantNoRules)
}
