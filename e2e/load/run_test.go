package load_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/peers"
)

// config returns a short run against srv with small objects.
func config(srv *peers.Server, w load.Workload) load.Config {
	return load.Config{
		Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region,
		Bucket: "load-test", Workload: w, ObjectSize: 5000, Concurrency: 4, Duration: 2 * time.Second,
		Keys: 20, VerifyEvery: 1, KeyPrefix: "t/",
	}.WithDefaults()
}

// TestRunAgainstPeer drives every workload against a real S3 server (MinIO, else
// versitygw) and checks that operations succeed and GETs return the bytes written.
func TestRunAgainstPeer(t *testing.T) {
	srv := peers.StartTest(t)
	ctx := context.Background()

	for _, tc := range []struct {
		w   load.Workload
		ops []string
	}{
		{load.WorkloadPut, []string{load.OpPut}},
		{load.WorkloadGet, []string{load.OpGet}},
		{load.WorkloadMixed, []string{load.OpPut, load.OpGet}},
	} {
		t.Run(string(tc.w), func(t *testing.T) {
			res, err := load.Run(ctx, config(srv, tc.w))
			if err != nil {
				t.Fatal(err)
			}
			if res.Total.Ops == 0 || res.Total.Errors != 0 || len(res.ErrorSamples) != 0 {
				t.Fatalf("ops %d, errors %d: %v", res.Total.Ops, res.Total.Errors, res.ErrorSamples)
			}
			if len(res.ByOp) != len(tc.ops) {
				t.Fatalf("ByOp = %+v, want %v", res.ByOp, tc.ops)
			}
			for i, op := range tc.ops {
				s := res.ByOp[i]
				if s.Op != op || s.Ops == 0 || s.Bytes != s.Ops*5000 || s.Latency.P50 <= 0 || s.Latency.Max < s.Latency.P99 {
					t.Errorf("%s stats = %+v", op, s)
				}
			}
			var table bytes.Buffer
			if err := load.WriteTable(&table, res); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", table.String())
		})
	}

	// Independently of Run's own verification, read a sample of the key set back
	// through a plain client and compare it with the content Run writes.
	cfg := config(srv, load.WorkloadGet)
	client, closeIdle := load.NewClient(cfg)
	defer closeIdle()
	for _, i := range []int64{0, 7, 19} {
		k := load.Key(cfg.KeyPrefix, i)
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		got, err := io.ReadAll(out.Body)
		_ = out.Body.Close()
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		want, _ := io.ReadAll(load.Content(k, cfg.ObjectSize))
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: read %d bytes that differ from the %d written", k, len(got), len(want))
		}
	}

	// The check must be able to fail: replace one object with other bytes of the same
	// length and read the key set without rewriting it.
	bad := load.Key(cfg.KeyPrefix, 3)
	wrong, _ := io.ReadAll(load.Content("something else", cfg.ObjectSize))
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(bad),
		Body: bytes.NewReader(wrong)}); err != nil {
		t.Fatal(err)
	}
	cfg.ReuseKeys, cfg.Duration, cfg.Ops = true, 0, int64(cfg.Keys)
	res, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Errors != 1 || res.Total.Ops != int64(cfg.Keys-1) ||
		len(res.ErrorSamples) != 1 || !strings.Contains(res.ErrorSamples[0], bad) {
		t.Fatalf("after corrupting %s: ops %d, errors %d, samples %v; want exactly that key to fail",
			bad, res.Total.Ops, res.Total.Errors, res.ErrorSamples)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	_, err := load.Run(context.Background(), load.Config{Endpoint: "not a url"})
	if !errors.Is(err, load.ErrInvalidConfig) {
		t.Fatalf("Run(bad config) = %v, want ErrInvalidConfig", err)
	}
}

func TestRunUnreachableEndpoint(t *testing.T) {
	// A port nobody listens on: preparing the bucket fails with ErrPrepare.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := load.Run(ctx, load.Config{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b", Ops: 1})
	if !errors.Is(err, load.ErrPrepare) {
		t.Fatalf("Run(unreachable) = %v, want ErrPrepare", err)
	}
}
