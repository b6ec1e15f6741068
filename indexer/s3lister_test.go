package indexer_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
)

// minioEnv names the MinIO binary for TestS3Lister; without it the test
// looks on PATH and in $HOME/go/bin, and skips when there is none.
const minioEnv = "SLUICE_MINIO_BIN"

// startMinIO runs a single-drive MinIO on 127.0.0.1 and returns an S3
// client for it; it is stopped in t.Cleanup.
func startMinIO(t *testing.T) *s3.Client {
	t.Helper()
	bin := os.Getenv(minioEnv)
	if bin == "" {
		if p, err := exec.LookPath("minio"); err == nil {
			bin = p
		} else if home, err := os.UserHomeDir(); err == nil {
			if p := filepath.Join(home, "go", "bin", "minio"); fileExists(p) {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Skipf("no MinIO binary (set %s)", minioEnv)
	}
	addr := freeAddr(t)
	console := freeAddr(t)
	dir := t.TempDir()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "server", filepath.Join(dir, "data"), "--address", addr, "--console-address", console, "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=indexertest", "MINIO_ROOT_PASSWORD=indexertest-secret",
		"MINIO_UPDATE=off", "MINIO_CALLHOME_ENABLE=off", "MINIO_BROWSER=off")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start MinIO: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	hc := &http.Client{Timeout: time.Second}
	natstest.CheckFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		select {
		case <-exited:
			t.Fatalf("MinIO exited: %s", logs.String())
		default:
		}
		resp, err := hc.Get("http://" + addr + "/minio/health/live")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("health %d", resp.StatusCode)
		}
		return nil
	})
	return s3.New(s3.Options{
		BaseEndpoint: aws.String("http://" + addr),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("indexertest", "indexertest-secret", ""),
		UsePathStyle: true,
	})
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestS3Lister rebuilds an index from a real S3 server (MinIO): versions,
// delete markers, metadata and tags come back through ListObjectVersions,
// HeadObject and GetObjectTagging.
func TestS3Lister(t *testing.T) {
	client := startMinIO(t)
	ctx := context.Background()
	bucket := "rebuild-me"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put := func(key, body string, meta map[string]string, tagging string) string {
		t.Helper()
		in := &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: strings.NewReader(body),
			ContentType: aws.String("text/plain"), Metadata: meta}
		if tagging != "" {
			in.Tagging = aws.String(tagging)
		}
		out, err := client.PutObject(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}
	v1 := put("a/one.txt", "first", map[string]string{"Year": "2020"}, "team=data")
	v2 := put("a/one.txt", "second!", map[string]string{"year": "2021"}, "")
	put("b two.txt", "x", nil, "k=v&empty=")
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("b two.txt")}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "i.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := &indexer.S3Lister{Client: client, Concurrency: 2}
	buckets, err := l.ListBuckets(ctx)
	if err != nil || len(buckets) != 1 || buckets[0] != bucket {
		t.Fatalf("buckets %v %v", buckets, err)
	}
	stats, err := indexer.Rebuild(ctx, st, l, "", indexer.RebuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Versions != 4 {
		t.Fatalf("stats %+v", stats)
	}
	res, err := st.Search(ctx, store.SearchInput{Scope: store.Scope{Versions: true}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Records {
		got = append(got, fmt.Sprintf("%s latest=%v dm=%v size=%d ct=%s meta=%v tags=%v",
			r.Key, r.IsLatest, r.IsDeleteMarker, r.Size, r.ContentType, r.UserMetadata, r.Tags))
		if r.Key == "a/one.txt" && r.VersionID != v1 && r.VersionID != v2 {
			t.Fatalf("version id %q", r.VersionID)
		}
	}
	want := []string{
		"a/one.txt latest=true dm=false size=7 ct=text/plain meta=map[year:2021] tags=map[]",
		"a/one.txt latest=false dm=false size=5 ct=text/plain meta=map[year:2020] tags=map[team:data]",
		"b two.txt latest=true dm=true size=0 ct= meta=map[] tags=map[]",
		"b two.txt latest=false dm=false size=1 ct=text/plain meta=map[] tags=map[empty: k:v]",
	}
	// Order within a key follows the version ids, which MinIO makes
	// random: compare as sets.
	if fmt.Sprint(sortedCopy(got)) != fmt.Sprint(sortedCopy(want)) {
		t.Fatalf("rebuilt index:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A bucket that does not exist is an error, not an empty index.
	if _, err := indexer.Rebuild(ctx, st, l, "no-such-bucket", indexer.RebuildOptions{}); err == nil {
		t.Fatal("rebuild of a missing bucket succeeded")
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
