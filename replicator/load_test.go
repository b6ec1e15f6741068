package replicator_test

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/replicator"
	"github.com/sluice-io/sluice/services/location"
)

// TestLoadLag measures replication lag (write acknowledged → replica
// written) at a steady PUT rate of 64 KiB objects to a MinIO destination,
// and replication throughput of 64 MiB objects against a plain copy
// between the same endpoints. It runs only with SLUICE_REPLICATOR_LOAD=1:
//
//	SLUICE_REPLICATOR_LOAD=1 go test -run TestLoadLag -v ./replicator/
func TestLoadLag(t *testing.T) {
	if os.Getenv("SLUICE_REPLICATOR_LOAD") != "1" {
		t.Skip("set SLUICE_REPLICATOR_LOAD=1 to run the load measurement")
	}
	h := newHarness(t)
	h.setRules(rules.Rule{ID: "m", Status: rules.Enabled, Destination: rules.Destination{Location: "minio"}})
	svc, _, _ := h.startWith(func(c *replicator.Config) { c.Destinations = []string{"minio"}; c.Concurrency = 32 })
	h.svc = svc
	statuses := h.watchStatus()

	const rate, seconds, size = 200, 10, 64 << 10
	data := randomData(7, size)
	total := rate * seconds
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	work := make(chan int, total)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				key := fmt.Sprintf("lag/%05d", i)
				out, err := h.s3.PutObject(h.ctx, &s3.PutObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
				if err != nil {
					t.Error(err)
					return
				}
				h.publish(events.ObjectCreatedPut, key, aws.ToString(out.VersionId), h.nextSeq())
			}
		}()
	}
	start := time.Now()
	for i := range total {
		<-tick.C
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("offered %d PUT/s for %ds; achieved %.0f PUT/s", rate, seconds, float64(total)/time.Since(start).Seconds())
	var lags []float64
	h.eventually(120*time.Second, func() error {
		for _, s := range statuses.drain(t) {
			if s.Status == status.Completed {
				lags = append(lags, s.LagSeconds)
			}
		}
		if len(lags) < total {
			return fmt.Errorf("%d of %d replicated", len(lags), total)
		}
		return nil
	})
	slices.Sort(lags)
	t.Logf("lag over %d objects: p50 %.3fs p99 %.3fs max %.3fs", len(lags), lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])

	// Throughput: 4 objects of 64 MiB, replicated versus copied by hand.
	const bigSize, n = 64 << 20, 4
	big := randomData(8, bigSize)
	var keys []string
	for i := range n {
		k := fmt.Sprintf("tp/%d", i)
		if _, err := h.s3.PutObject(h.ctx, &s3.PutObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(k), Body: bytes.NewReader(big)}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	start = time.Now()
	for _, k := range keys {
		h.publish(events.ObjectCreatedPut, k, "", h.nextSeq())
	}
	h.eventually(120*time.Second, func() error {
		for _, k := range keys {
			if _, err := h.drv["minio"].Stat(h.ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	repl := time.Since(start)
	start = time.Now()
	for _, k := range keys {
		out, err := h.s3.GetObject(h.ctx, &s3.GetObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.drv["minio"].Put(h.ctx, "plain/"+k, out.Body, location.PutOptions{Size: bigSize})
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	plain := time.Since(start)
	mib := float64(n*bigSize) / (1 << 20)
	t.Logf("64 MiB objects: replicated %.1f MiB/s, plain sequential copy %.1f MiB/s", mib/repl.Seconds(), mib/plain.Seconds())
}
