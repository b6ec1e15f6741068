package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestBucketLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	e.mkBucket(e.alice, "alpha")
	e.mkBucket(e.alice, "beta")
	e.mkBucket(e.bob, "bobs")

	cases := []struct {
		name string
		err  error
		code string
	}{
		{"create again by owner", func() error {
			_, err := e.alice.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alpha")})
			return err
		}(), "BucketAlreadyOwnedByYou"},
		{"create taken by other", func() error {
			_, err := e.bob.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alpha")})
			return err
		}(), "BucketAlreadyExists"},
		{"invalid name", func() error {
			_, err := e.alice.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
			return err
		}(), "InvalidBucketName"},
		{"unknown location", func() error {
			_, err := e.alice.CreateBucket(ctx, &s3.CreateBucketInput{
				Bucket: aws.String("gamma"),
				CreateBucketConfiguration: &types.CreateBucketConfiguration{
					LocationConstraint: types.BucketLocationConstraint("nowhere"),
				},
			})
			return err
		}(), "InvalidLocationConstraint"},
		{"head other's bucket", func() error {
			_, err := e.bob.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("alpha")})
			return err
		}(), "Forbidden"}, // HEAD errors have no body: the SDK names the status
		{"head missing", func() error {
			_, err := e.alice.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("missing")})
			return err
		}(), "NotFound"},
		{"list objects of other's bucket", func() error {
			_, err := e.bob.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha")})
			return err
		}(), "AccessDenied"},
		{"delete other's bucket", func() error {
			_, err := e.bob.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alpha")})
			return err
		}(), "AccessDenied"},
		{"delete missing", func() error {
			_, err := e.alice.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("missing")})
			return err
		}(), "NoSuchBucket"},
	}
	for _, c := range cases {
		wantCode(t, c.name, c.err, c.code)
	}

	// ListBuckets shows only the caller's buckets.
	lb, err := e.alice.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if strings.Join(names, ",") != "alpha,beta" {
		t.Fatalf("alice's buckets = %v", names)
	}
	if lb.Owner == nil || aws.ToString(lb.Owner.ID) != "alice" {
		t.Fatalf("owner = %+v", lb.Owner)
	}
	// Paged, one bucket per page.
	var paged []string
	in := &s3.ListBucketsInput{MaxBuckets: aws.Int32(1)}
	for range 5 {
		p, err := e.alice.ListBuckets(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range p.Buckets {
			paged = append(paged, aws.ToString(b.Name))
		}
		if p.ContinuationToken == nil {
			break
		}
		in.ContinuationToken = p.ContinuationToken
	}
	if strings.Join(paged, ",") != "alpha,beta" {
		t.Fatalf("paged buckets = %v", paged)
	}
	_, err = e.alice.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(0)})
	wantCode(t, "max-buckets 0", err, "InvalidArgument")

	// Location: default location reads as "" (us-east-1); a named one as its name.
	if _, err := e.alice.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket: aws.String("in-other"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint("other"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	for bucket, want := range map[string]string{"alpha": "", "in-other": "other"} {
		loc, err := e.alice.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		if string(loc.LocationConstraint) != want {
			t.Fatalf("location of %s = %q, want %q", bucket, loc.LocationConstraint, want)
		}
	}

	// BucketNotEmpty, then delete.
	e.put(e.alice, "beta", "k", "v")
	_, err = e.alice.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("beta")})
	wantCode(t, "delete non-empty", err, "BucketNotEmpty")
	if _, err := e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("beta"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.alice.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("beta")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.alice.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("beta")}); apiCode(err) != "NotFound" {
		t.Fatalf("head deleted bucket: %v", err)
	}
}

func TestBucketVersioningAndTagging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "vbk")
	b := aws.String("vbk")

	v, err := e.alice.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil || v.Status != "" {
		t.Fatalf("initial versioning = %q, %v", v.Status, err)
	}
	for _, st := range []types.BucketVersioningStatus{types.BucketVersioningStatusEnabled, types.BucketVersioningStatusSuspended} {
		if _, err := e.alice.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket: b, VersioningConfiguration: &types.VersioningConfiguration{Status: st},
		}); err != nil {
			t.Fatal(err)
		}
		v, err := e.alice.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
		if err != nil || v.Status != st {
			t.Fatalf("versioning = %q, %v; want %q", v.Status, err, st)
		}
	}
	_, err = e.alice.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket: b, VersioningConfiguration: &types.VersioningConfiguration{Status: "Bogus"},
	})
	wantCode(t, "bad versioning status", err, "IllegalVersioningConfigurationException")

	_, err = e.alice.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	wantCode(t, "tagging before put", err, "NoSuchTagSet")
	if _, err := e.alice.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &types.Tagging{
		TagSet: []types.Tag{{Key: aws.String("team"), Value: aws.String("storage")}},
	}}); err != nil {
		t.Fatal(err)
	}
	tg, err := e.alice.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	if err != nil || len(tg.TagSet) != 1 || aws.ToString(tg.TagSet[0].Value) != "storage" {
		t.Fatalf("tagging = %+v, %v", tg, err)
	}
	_, err = e.alice.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &types.Tagging{
		TagSet: []types.Tag{{Key: aws.String("aws:reserved"), Value: aws.String("x")}},
	}})
	wantCode(t, "reserved tag key", err, "InvalidTag")
	if _, err := e.alice.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	wantCode(t, "tagging after delete", err, "NoSuchTagSet")
}

func TestBucketConfigDocuments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "cfg")
	b := aws.String("cfg")

	// Notification: empty when absent, round trip, cleared by an empty document.
	n, err := e.alice.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: b})
	if err != nil || len(n.QueueConfigurations)+len(n.TopicConfigurations)+len(n.LambdaFunctionConfigurations) != 0 {
		t.Fatalf("initial notification = %+v, %v", n, err)
	}
	if _, err := e.alice.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: b,
		NotificationConfiguration: &types.NotificationConfiguration{
			QueueConfigurations: []types.QueueConfiguration{{
				Id:       aws.String("q1"),
				QueueArn: aws.String("arn:sluice:webhook::hook"),
				Events:   []types.Event{"s3:ObjectCreated:*"},
			}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	n, err = e.alice.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: b})
	if err != nil || len(n.QueueConfigurations) != 1 || aws.ToString(n.QueueConfigurations[0].Id) != "q1" {
		t.Fatalf("notification = %+v, %v", n, err)
	}
	_, err = e.alice.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: b,
		NotificationConfiguration: &types.NotificationConfiguration{
			QueueConfigurations: []types.QueueConfiguration{{
				QueueArn: aws.String("arn:sluice:webhook::hook"),
				Events:   []types.Event{"s3:NoSuchEvent"},
			}},
		},
	})
	if apiCode(err) == "" {
		t.Fatal("bad event name accepted")
	}
	if _, err := e.alice.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: b, NotificationConfiguration: &types.NotificationConfiguration{},
	}); err != nil {
		t.Fatal(err)
	}
	n, err = e.alice.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: b})
	if err != nil || len(n.QueueConfigurations) != 0 {
		t.Fatalf("cleared notification = %+v, %v", n, err)
	}

	// Replication: missing → ReplicationConfigurationNotFoundError; needs versioning.
	_, err = e.alice.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b})
	wantCode(t, "replication missing", err, "ReplicationConfigurationNotFoundError")
	repl := &types.ReplicationConfiguration{
		Role: aws.String("arn:aws:iam::123456789012:role/replication"),
		Rules: []types.ReplicationRule{{
			ID:                      aws.String("r1"),
			Status:                  types.ReplicationRuleStatusEnabled,
			Priority:                aws.Int32(1),
			Filter:                  &types.ReplicationRuleFilter{Prefix: aws.String("")},
			DeleteMarkerReplication: &types.DeleteMarkerReplication{Status: types.DeleteMarkerReplicationStatusDisabled},
			Destination:             &types.Destination{Bucket: aws.String("arn:aws:s3:::other"), StorageClass: "STANDARD"},
		}},
	}
	_, err = e.alice.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: b, ReplicationConfiguration: repl})
	wantCode(t, "replication without versioning", err, "InvalidRequest")
	if _, err := e.alice.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket: b, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.alice.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: b, ReplicationConfiguration: repl}); err != nil {
		t.Fatal(err)
	}
	r, err := e.alice.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b})
	if err != nil || len(r.ReplicationConfiguration.Rules) != 1 || aws.ToString(r.ReplicationConfiguration.Rules[0].ID) != "r1" {
		t.Fatalf("replication = %+v, %v", r, err)
	}
	if _, err := e.alice.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b})
	wantCode(t, "replication deleted", err, "ReplicationConfigurationNotFoundError")

	// Lifecycle.
	_, err = e.alice.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	wantCode(t, "lifecycle missing", err, "NoSuchLifecycleConfiguration")
	if _, err := e.alice.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket: b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID:         aws.String("expire-logs"),
			Status:     types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(30)},
		}}},
	}); err != nil {
		t.Fatal(err)
	}
	lc, err := e.alice.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	if err != nil || len(lc.Rules) != 1 || aws.ToInt32(lc.Rules[0].Expiration.Days) != 30 {
		t.Fatalf("lifecycle = %+v, %v", lc, err)
	}
	_, err = e.alice.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket: b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("bad"), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(-1)},
		}}},
	})
	if apiCode(err) == "" {
		t.Fatal("negative expiration days accepted")
	}
	if _, err := e.alice.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	wantCode(t, "lifecycle deleted", err, "NoSuchLifecycleConfiguration")

	// ACL: owner FULL_CONTROL.
	acl, err := e.alice.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl || aws.ToString(acl.Owner.ID) != "alice" {
		t.Fatalf("acl = %+v, %v", acl, err)
	}

	if _, err := e.alice.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPublicRead})
	wantCode(t, "public-read acl", err, "NotImplemented")
	e.put(e.alice, "cfg", "obj", "x")
	oacl, err := e.alice.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: aws.String("obj")})
	if err != nil || len(oacl.Grants) != 1 || aws.ToString(oacl.Owner.ID) != "alice" {
		t.Fatalf("object acl = %+v, %v", oacl, err)
	}
	if _, err := e.alice.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: b, Key: aws.String("obj"), ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: aws.String("missing")})
	wantCode(t, "acl of missing object", err, "NoSuchKey")
	_, err = e.bob.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	wantCode(t, "bob reads alice's acl", err, "AccessDenied")

	// Unsupported sub-resources.
	_, err = e.alice.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	wantCode(t, "cors", err, "NoSuchCORSConfiguration")
	_, err = e.alice.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	wantCode(t, "policy", err, "NoSuchBucketPolicy")
	_, err = e.alice.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}},
	}})
	wantCode(t, "put cors", err, "NotImplemented")
}

func TestDeleteBucketWithPendingUploads(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "pending")
	b := aws.String("pending")
	cr, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("k"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")}); err != nil {
		t.Fatal(err)
	}
	e.put(e.alice, "pending", "obj", "x")
	_, err = e.alice.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	wantCode(t, "bucket with an object", err, "BucketNotEmpty")
	_, err = e.alice.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b, ExpectedBucketOwner: aws.String("someone-else")})
	wantCode(t, "expected bucket owner", err, "AccessDenied")
	if _, err := e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("obj")}); err != nil {
		t.Fatal(err)
	}
	// Only the upload is left: the bucket goes, and so do the part's bytes.
	if _, err := e.alice.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if n := countDataFiles(t, e.dataDir); n != 0 {
		t.Fatalf("%d data files left", n)
	}
}

func TestCreateBucketWithTags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tags := func(n int) []types.Tag {
		var out []types.Tag
		for i := range n {
			out = append(out, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
		}
		return out
	}
	bad := []struct {
		name string
		tags []types.Tag
		code string
	}{
		{"51 tags", tags(51), "BadRequest"},
		{"invalid key", []types.Tag{{Key: aws.String("user!name"), Value: aws.String("v")}}, "InvalidTag"},
		{"duplicate keys", []types.Tag{{Key: aws.String("k"), Value: aws.String("a")}, {Key: aws.String("k"), Value: aws.String("b")}}, "InvalidTag"},
	}
	for _, tc := range bad {
		_, err := e.alice.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tagged"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{Tags: tc.tags}})
		wantCode(t, tc.name, err, tc.code)
	}
	if _, err := e.alice.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("tagged")}); err == nil {
		t.Fatal("a refused CreateBucket created the bucket")
	}
	if _, err := e.alice.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tagged"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{Tags: tags(2)}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.alice.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tagged")})
	if err != nil || len(got.TagSet) != 2 || aws.ToString(got.TagSet[1].Key) != "k1" {
		t.Fatalf("tags = %+v, %v", got, err)
	}
}
