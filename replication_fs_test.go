package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/location"
	_ "github.com/sluice-io/sluice/services/location/fs"
)

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago (the
// replicator's source endpoint needs a fixed S3 port).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRunAllReplicatesToFS replicates, inside one `sluice run all`, to a second fs
// location: the fs driver shares the open root between s3front and the replicator.
// The object arrives with its bytes and its delete follows; the default location is
// refused as a destination.
func TestRunAllReplicatesToFS(t *testing.T) {
	dir := t.TempDir()
	withEnv(t, map[string]string{"SLUICE_NATS_LISTEN": "127.0.0.1:0"})
	backup := filepath.Join(dir, "backup")
	cfgPath := filepath.Join(dir, "sluice.yaml")
	s3Addr := freeAddr(t)
	writeFile(t, cfgPath, fmt.Sprintf(`s3:
  listen: %s
  locations:
    local:
      type: fs
      path: %s
    backup:
      type: fs
      path: %s
replication:
  destinations: [backup]
`, s3Addr, filepath.Join(dir, "objects"), backup))

	// The default location is never a destination.
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, fmt.Sprintf("s3:\n  listen: %s\nreplication:\n  destinations: [local]\n", freeAddr(t)))
	var bout, berr syncBuffer
	if code := runCLI(context.Background(), []string{"run", "all", "-config", bad, "-data-dir", filepath.Join(dir, "bad"), "-http-listen", "127.0.0.1:0"}, &bout, &berr); code == exitOK || !strings.Contains(berr.String(), "default_location") {
		t.Fatalf("default location as destination: exit %d, stderr %q", code, berr.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runCLI(ctx, []string{"run", "all", "-config", cfgPath, "-data-dir", dir, "-http-listen", "127.0.0.1:0"}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("sluice did not stop")
		}
	})
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + s3Addr), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(devRootAccessKey, devRootSecretKey, ""),
	})
	waitFor(t, 60*time.Second, func() error {
		select {
		case code := <-done:
			t.Fatalf("sluice exited early with %d: %s", code, errb.String())
		default:
		}
		_, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	})
	const bucket = "photos"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{
		Bucket: aws.String(bucket),
		ReplicationConfiguration: &types.ReplicationConfiguration{
			Role: aws.String("arn:aws:iam::000000000000:role/sluice"),
			Rules: []types.ReplicationRule{{
				ID: aws.String("to-backup"), Priority: aws.Int32(1), Status: types.ReplicationRuleStatusEnabled,
				Filter:                  &types.ReplicationRuleFilter{Prefix: aws.String("")},
				Destination:             &types.Destination{Bucket: aws.String("arn:aws:s3:::backup")},
				DeleteMarkerReplication: &types.DeleteMarkerReplication{Status: types.DeleteMarkerReplicationStatusEnabled},
			}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("cat.txt"), Body: strings.NewReader("meow")}); err != nil {
		t.Fatal(err)
	}

	// Read the replica through an fs driver on the same root (shared in this process).
	drv, err := location.Open(ctx, "backup-check", location.Config{Type: location.TypeFS, Path: backup}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	waitFor(t, 60*time.Second, func() error {
		rc, _, err := drv.Get(ctx, "cat.txt", nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if string(b) != "meow" {
			return fmt.Errorf("replica holds %q", b)
		}
		return nil
	})
	waitFor(t, 60*time.Second, func() error {
		h, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("cat.txt")})
		if err != nil {
			return err
		}
		if h.ReplicationStatus != types.ReplicationStatusCompleted {
			return fmt.Errorf("x-amz-replication-status %q", h.ReplicationStatus)
		}
		return nil
	})
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("cat.txt")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() error {
		rc, _, err := drv.Get(ctx, "cat.txt", nil)
		if err == nil {
			rc.Close()
			return fmt.Errorf("replica still there after the delete marker")
		}
		return nil
	})
}
