package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluice-io/sluice/services/emulators"
	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote/remotetest"
	"github.com/sluice-io/sluice/services/location/locationtest"
)

// rawKeys lists every object key in bucket, bypassing the driver.
func rawKeys(t *testing.T, c *s3.Client, bucket string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("raw list: %v", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// requireNoLeftovers fails unless bucket holds no temporary objects and no
// multipart uploads in progress.
func requireNoLeftovers(t *testing.T, c *s3.Client, bucket string) {
	t.Helper()
	for _, k := range rawKeys(t, c, bucket) {
		if strings.Contains(k, tmpDir) {
			t.Errorf("temporary object %q left behind", k)
		}
	}
	ups, err := c.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	for _, u := range ups.Uploads {
		t.Errorf("multipart upload of %q left in progress", aws.ToString(u.Key))
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(location.Types(), Type) {
		t.Fatalf("location.Types() = %q, want it to hold %q", location.Types(), Type)
	}
	m := emulators.StartMinIO(t)
	bucket := m.NewBucket(t)
	cfg := m.Config(bucket, "reg/")
	cfg.Options = map[string]string{OptionPartSize: "5MiB", OptionConcurrency: "3", OptionMemoryLimit: "20MiB", OptionChecksumMode: ChecksumWhenSupported}
	core, logs := observer.New(zap.InfoLevel)
	d, err := location.Open(t.Context(), "replica", cfg, zap.New(core))
	if err != nil {
		t.Fatalf("location.Open: %v", err)
	}
	defer d.Close()
	// Larger than a part: the options reach the driver, and the AWS
	// checksums MinIO supports do not upset it.
	data := remotetest.RandomBytes(1, 6<<20+1)
	if _, err := d.Put(t.Context(), "k", bytes.NewReader(data), location.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, _ := remotetest.GetAll(t, d, "k"); !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
	if keys := rawKeys(t, m.Client(), bucket); !slices.Equal(keys, []string{"reg/k"}) {
		t.Fatalf("bucket holds %q, want [reg/k]", keys)
	}
	opened := logs.FilterMessage("s3 location opened").All()
	if len(opened) != 1 {
		t.Fatalf("start-up logs = %d, want 1", len(opened))
	}
	fields := opened[0].ContextMap()
	if fields["location"] != "replica" || fields["partSize"] != int64(5<<20) || fields["concurrency"] != int64(3) || fields["memoryLimit"] != int64(20<<20) {
		t.Fatalf("start-up log fields = %v", fields)
	}
	for _, e := range logs.All() {
		for _, f := range e.Context {
			if strings.Contains(fmt.Sprint(f.Interface, f.String), emulators.MinIOSecretKey) {
				t.Fatalf("log %q leaks the secret key in field %s", e.Message, f.Key)
			}
		}
	}
}

func TestConfigInvalid(t *testing.T) {
	good := location.S3Config{Endpoint: "http://127.0.0.1:1", Bucket: "b", AccessKeyID: "id", SecretAccessKey: "secret"}
	tests := []struct {
		name string
		cfg  location.Config
	}{
		{"no s3 settings", location.Config{Type: Type}},
		{"no bucket", location.Config{Type: Type, S3: &location.S3Config{Endpoint: "http://x"}}},
		{"bucket with slash", location.Config{Type: Type, S3: &location.S3Config{Bucket: "a/b", Endpoint: "http://x"}}},
		{"prefix not utf-8", location.Config{Type: Type, S3: &location.S3Config{Bucket: "b", Prefix: "\xff", Endpoint: "http://x"}}},
		{"prefix too long", location.Config{Type: Type, S3: &location.S3Config{Bucket: "b", Prefix: strings.Repeat("p", 1000), Endpoint: "http://x"}}},
		{"endpoint without scheme", location.Config{Type: Type, S3: &location.S3Config{Bucket: "b", Endpoint: "127.0.0.1:9000"}}},
		{"secret without key id", location.Config{Type: Type, S3: &location.S3Config{Bucket: "b", Endpoint: "http://x", SecretAccessKey: "s"}}},
		{"key id without secret", location.Config{Type: Type, S3: &location.S3Config{Bucket: "b", Endpoint: "http://x", AccessKeyID: "id"}}},
		{"unknown option", location.Config{Type: Type, S3: &good, Options: map[string]string{"partsize": "5MiB"}}},
		{"part size too small", location.Config{Type: Type, S3: &good, Options: map[string]string{OptionPartSize: "1MiB"}}},
		{"part size malformed", location.Config{Type: Type, S3: &good, Options: map[string]string{OptionPartSize: "lots"}}},
		{"concurrency zero", location.Config{Type: Type, S3: &good, Options: map[string]string{OptionConcurrency: "0"}}},
		{"checksum mode unknown", location.Config{Type: Type, S3: &good, Options: map[string]string{OptionChecksumMode: "always"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := location.Open(t.Context(), "bad", tc.cfg, nil)
			if err == nil {
				d.Close()
			}
			if !errors.Is(err, location.ErrInvalidConfig) {
				t.Fatalf("Open error = %v, want ErrInvalidConfig", err)
			}
		})
	}
	t.Run("good config sends nothing", func(t *testing.T) {
		// Nothing listens on port 1: New must not need the store.
		d, err := location.Open(t.Context(), "good", location.Config{Type: Type, S3: &good}, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		d.Close()
	})
}

func TestOddKeys(t *testing.T) {
	m := emulators.StartMinIO(t)
	d := newTestDriver(t, minioConfig(m, m.NewBucket(t), ""))
	// MinIO keeps each segment as a file name: these core keys are beyond
	// it, and must fail cleanly. The driver refuses keys S3 cannot list
	// (invalid UTF-8, NUL) and keys with a leading "/", which MinIO would
	// store as the key without it.
	tooLongForMinIO := map[string]bool{"1024 bytes one segment": true, "long utf-8 segment": true, "1024 bytes of utf-8": true}
	var stored []string
	for _, k := range locationtest.OddKeys() {
		data := []byte("odd: " + k.Key)
		_, err := d.Put(t.Context(), k.Key, bytes.NewReader(data), location.PutOptions{Size: int64(len(data))})
		switch {
		case k.Needs == "NUL" || !utf8.ValidString(k.Key) || strings.HasPrefix(k.Key, "/") || tooLongForMinIO[k.Name]:
			if !errors.Is(err, location.ErrInvalidKey) {
				t.Errorf("Put(%s key %q): error = %v, want ErrInvalidKey", k.Name, k.Key, err)
			}
			continue
		case k.Needs == "PathLike" && errors.Is(err, location.ErrInvalidKey):
			continue // MinIO refuses some; the others it must store distinctly
		case err != nil:
			t.Errorf("Put(%s key %q): %v", k.Name, k.Key, err)
			continue
		}
		stored = append(stored, k.Key)
	}
	for _, k := range stored {
		if got, info := remotetest.GetAll(t, d, k); string(got) != "odd: "+k || info.Key != k || info.ETag != remotetest.MD5Hex(got) {
			t.Errorf("Get(%q) = %q, %+v", k, got, info)
		}
	}
	infos, err := d.List(t.Context(), "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, info := range infos {
		listed = append(listed, info.Key)
	}
	if want := slices.Sorted(slices.Values(stored)); !slices.Equal(listed, want) {
		t.Errorf("List\n got %q\nwant %q", listed, want)
	}
	if len(stored) < 10 {
		t.Errorf("only %d odd keys stored: %q", len(stored), stored)
	}
}

func TestReservedAndLongKeys(t *testing.T) {
	m := emulators.StartMinIO(t)
	d := newTestDriver(t, minioConfig(m, m.NewBucket(t), "pre/"))
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"temporary namespace", tmpDir + "x", false},
		{"temporary namespace itself", tmpDir, false},
		{"lookalike", ".sluice-tmp", true},
		{"lookalike below", "a/" + tmpDir + "x", true},
		{"fits with the prefix", strings.Repeat("k", location.MaxKeyLen-len("pre/")), false}, // one 1020-byte segment: MinIO refuses it
		{"too long with the prefix", strings.Repeat("k/", 511), false},
		{"long with short segments", strings.Repeat("k/", 509) + "x", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Put(t.Context(), tc.key, strings.NewReader("x"), location.PutOptions{Size: 1})
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, location.ErrInvalidKey)) {
				t.Fatalf("Put(%d-byte key) error = %v, want ok=%v or ErrInvalidKey", len(tc.key), err, tc.ok)
			}
			if !tc.ok {
				// The driver refuses some keys itself, MinIO others (with
				// a bare 400 for HeadObject, which says nothing more).
				if _, err := d.Stat(t.Context(), tc.key); err == nil {
					t.Fatal("Stat of a key that cannot be stored succeeded")
				}
			}
		})
	}
}

func TestMultipart(t *testing.T) {
	m := emulators.StartMinIO(t)
	client := m.Client()
	const part = MinPartSize
	tests := []struct {
		name     string
		size     int
		known    bool
		withMD5  bool
		maxCopy  int64
		wrongMD5 bool
		failAt   int // reader fails after this many bytes; 0 never
		longBody bool
		wantErr  error
		// remoteParts is the part count S3 reports in the stored object's
		// ETag ("...-N"), or 0 for an object stored in one piece.
		remoteParts int
	}{
		{name: "known size without MD5: temporary object and copy", size: 2*part + 7, known: true},
		{name: "known size with MD5: straight to the key", size: 2*part + 7, known: true, withMD5: true, remoteParts: 3},
		{name: "unknown size: temporary object and copy", size: 2*part + 3},
		{name: "unknown size with MD5", size: 2*part + 3, withMD5: true, remoteParts: 3},
		{name: "unknown size ending at a part boundary", size: 2 * part, withMD5: true, remoteParts: 2},
		{name: "unknown size of exactly one part", size: part, withMD5: true, remoteParts: 1},
		{name: "copy by parts", size: 2*part + 11, known: true, maxCopy: part, remoteParts: 3},
		{name: "wrong MD5", size: 2*part + 7, known: true, withMD5: true, wrongMD5: true, wantErr: location.ErrBadDigest},
		{name: "wrong MD5 unknown size", size: 2*part + 7, withMD5: true, wrongMD5: true, wantErr: location.ErrBadDigest},
		{name: "reader fails in the third part", size: 3 * part, known: true, failAt: 2*part + 100, wantErr: remotetest.ErrBoom},
		{name: "reader fails in the third part, with MD5", size: 3 * part, withMD5: true, failAt: 2*part + 100, wantErr: remotetest.ErrBoom},
		{name: "body longer than declared", size: 2*part + 7, known: true, longBody: true, wantErr: location.ErrSizeMismatch},
		{name: "body shorter than declared", size: 2*part + 7, known: true, failAt: -1, wantErr: location.ErrSizeMismatch},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bucket := m.NewBucket(t)
			cfg := minioConfig(m, bucket, "mp/")
			cfg.PartSize, cfg.Concurrency, cfg.MaxCopyObjectSize = part, 3, tc.maxCopy
			d := newTestDriver(t, cfg)
			data := remotetest.RandomBytes(uint64(i), tc.size)
			opts := location.PutOptions{Size: -1, ContentType: "application/x-test", Metadata: map[string]string{"kind": "multipart", "Note": "Zürich"}}
			if tc.known {
				opts.Size = int64(tc.size)
			}
			if tc.withMD5 {
				sum := md5.Sum(data)
				if tc.wrongMD5 {
					sum[0]++
				}
				opts.ContentMD5 = sum[:]
			}
			var r io.Reader = remotetest.OnlyReader(bytes.NewReader(data))
			switch {
			case tc.failAt > 0:
				r = remotetest.FailAfter(data, tc.failAt)
			case tc.failAt < 0:
				r = remotetest.OnlyReader(bytes.NewReader(data[:len(data)-1]))
			case tc.longBody:
				r = remotetest.OnlyReader(io.MultiReader(bytes.NewReader(data), strings.NewReader("extra")))
			}
			info, err := d.Put(t.Context(), "obj", r, opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Put error = %v, want %v", err, tc.wantErr)
				}
				if _, err := d.Stat(t.Context(), "obj"); !errors.Is(err, location.ErrNotFound) {
					t.Fatalf("Stat after a failed Put: %v, want ErrNotFound", err)
				}
				requireNoLeftovers(t, client, bucket)
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			want := remotetest.MD5Hex(data)
			wantMeta := map[string]string{"kind": "multipart", "note": "Zürich"}
			if info.ETag != want || info.Size != int64(tc.size) {
				t.Fatalf("Put = %+v, want ETag %s size %d", info, want, tc.size)
			}
			got, gi := remotetest.GetAll(t, d, "obj")
			if !bytes.Equal(got, data) {
				t.Fatalf("Get returned %d bytes (md5 %s), want %d (md5 %s)", len(got), remotetest.MD5Hex(got), len(data), want)
			}
			st, err := d.Stat(t.Context(), "obj")
			if err != nil {
				t.Fatal(err)
			}
			for op, oi := range map[string]location.ObjectInfo{"Get": gi, "Stat": st} {
				if oi.ETag != want || oi.ContentType != "application/x-test" || !maps.Equal(oi.Metadata, wantMeta) {
					t.Errorf("%s = %+v, want ETag %s, the content type and metadata %v", op, oi, want, wantMeta)
				}
			}
			list, err := d.List(t.Context(), "", "", 0)
			if err != nil || len(list) != 1 || list[0].ETag != want || list[0].Size != int64(tc.size) {
				t.Fatalf("List = %+v, %v; want the object with ETag %s", list, err, want)
			}
			// What S3 holds: the key, the MD5 in metadata, and an ETag that
			// shows whether the object went up in parts.
			head, err := client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("mp/obj")})
			if err != nil {
				t.Fatal(err)
			}
			if head.Metadata[md5MetaKey] != want {
				t.Errorf("stored metadata %v lacks %s=%s", head.Metadata, md5MetaKey, want)
			}
			remote := strings.Trim(aws.ToString(head.ETag), `"`)
			if _, n, _ := strings.Cut(remote, "-"); n != fmt.Sprint(tc.remoteParts) && !(tc.remoteParts == 0 && n == "") {
				t.Errorf("stored ETag %s: want %d parts", remote, tc.remoteParts)
			}
			requireNoLeftovers(t, client, bucket)
		})
	}
}

func TestCancelMultipartLeavesNothing(t *testing.T) {
	m := emulators.StartMinIO(t)
	bucket := m.NewBucket(t)
	cfg := minioConfig(m, bucket, "")
	cfg.PartSize = MinPartSize
	d := newTestDriver(t, cfg)
	data := remotetest.RandomBytes(7, 4*MinPartSize)
	for _, withMD5 := range []bool{false, true} {
		ctx, cancel := context.WithCancel(t.Context())
		opts := location.PutOptions{Size: int64(len(data))}
		if withMD5 {
			sum := md5.Sum(data)
			opts.ContentMD5 = sum[:]
		}
		// Cancel once two parts have been read: uploads are in flight.
		r := &cancelAfter{r: bytes.NewReader(data), n: 2*MinPartSize + 1, cancel: cancel}
		_, err := d.Put(ctx, "cancelled", r, opts)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("withMD5=%v: Put error = %v, want context.Canceled", withMD5, err)
		}
		if _, err := d.Stat(t.Context(), "cancelled"); !errors.Is(err, location.ErrNotFound) {
			t.Fatalf("Stat after a cancelled Put: %v", err)
		}
		requireNoLeftovers(t, m.Client(), bucket)
	}
}

// cancelAfter calls cancel once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestPrefixes(t *testing.T) {
	m := emulators.StartMinIO(t)
	bucket := m.NewBucket(t)
	root := newTestDriver(t, minioConfig(m, bucket, ""))
	one := newTestDriver(t, minioConfig(m, bucket, "one/"))
	two := newTestDriver(t, minioConfig(m, bucket, "two/"))
	for d, keys := range map[location.Driver][]string{root: {"top", "one-sibling"}, one: {"a", "b/c"}, two: {"a", "z"}} {
		for _, k := range keys {
			if _, err := d.Put(t.Context(), k, strings.NewReader(k), location.PutOptions{Size: int64(len(k))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := func(d location.Driver, prefix string) []string {
		infos, err := d.List(t.Context(), prefix, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, i := range infos {
			keys = append(keys, i.Key)
		}
		return keys
	}
	tests := []struct {
		name   string
		d      location.Driver
		prefix string
		want   []string
	}{
		{"root sees all", root, "", []string{"one-sibling", "one/a", "one/b/c", "top", "two/a", "two/z"}},
		{"root by prefix", root, "one", []string{"one-sibling", "one/a", "one/b/c"}},
		{"one sees its own", one, "", []string{"a", "b/c"}},
		{"one by prefix", one, "b", []string{"b/c"}},
		{"two sees its own", two, "", []string{"a", "z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.d, tc.prefix); !slices.Equal(got, tc.want) {
				t.Fatalf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
	// The same key under two prefixes is two objects.
	if got, _ := remotetest.GetAll(t, one, "a"); string(got) != "a" {
		t.Fatal(string(got))
	}
	if err := one.Delete(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Stat(t.Context(), "a"); err != nil {
		t.Fatalf("deleting one/a touched two/a: %v", err)
	}
	if got, _ := remotetest.GetAll(t, root, "one/b/c"); string(got) != "b/c" {
		t.Fatalf("root reads one/b/c as %q", got)
	}
}

func TestMetadataEncoding(t *testing.T) {
	m := emulators.StartMinIO(t)
	bucket := m.NewBucket(t)
	d := newTestDriver(t, minioConfig(m, bucket, ""))
	tests := []struct {
		name    string
		meta    map[string]string
		want    map[string]string // nil: same as meta
		stored  map[string]string // headers S3 must hold, when checked
		wantErr error
	}{
		{name: "plain keys and values are stored as they are", meta: map[string]string{"color": "blue", "owner-id": "42"},
			stored: map[string]string{"color": "blue", "owner-id": "42"}},
		{name: "upper-case keys come back lower-case", meta: map[string]string{"Color": "Blue"}, want: map[string]string{"color": "Blue"}},
		{name: "keys in the driver's namespace", meta: map[string]string{"sluice--md5": "not mine", "sluice--x": "y", "sluice-": "z"},
			stored: map[string]string{"sluice--sluice--md5": "not mine", "sluice--sluice--x": "y", "sluice-": "z"}},
		{name: "token punctuation in keys", meta: map[string]string{"a.b_c~d": "1", "x!#$%&'*+^`|": "2"}},
		{name: "values S3 would change", meta: map[string]string{
			"lead": " leading", "trail": "trailing ", "empty": "", "word": "=?UTF-8?B?aGk=?=", "tab": "a\tb",
			"unicode": "Zürich ☕", "newline": "line1\nline2", "invalid-utf8": "\xff\xfe", "nul": "a\x00b",
		}},
		{name: "space in a key", meta: map[string]string{"a b": "1"}, wantErr: location.ErrInvalidArgument},
		{name: "empty key", meta: map[string]string{"": "1"}, wantErr: location.ErrInvalidArgument},
		{name: "unicode key", meta: map[string]string{"ключ": "1"}, wantErr: location.ErrInvalidArgument},
		{name: "keys differing in case", meta: map[string]string{"k": "1", "K": "2"}, wantErr: location.ErrInvalidArgument},
		{name: "too large for S3", meta: map[string]string{"big": strings.Repeat("x", 9<<10)}, wantErr: location.ErrInvalidArgument},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("meta/%d", i)
			_, err := d.Put(t.Context(), key, strings.NewReader("x"), location.PutOptions{Size: 1, Metadata: tc.meta})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Put error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			want := tc.want
			if want == nil {
				want = tc.meta
			}
			st, err := d.Stat(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(st.Metadata, want) {
				t.Errorf("Stat metadata = %q, want %q", st.Metadata, want)
			}
			if st.ETag != remotetest.MD5Hex([]byte("x")) {
				t.Errorf("ETag = %s: a user key must not shadow the driver's MD5", st.ETag)
			}
			if tc.stored != nil {
				head, err := m.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tc.stored {
					if head.Metadata[k] != v {
						t.Errorf("stored x-amz-meta-%s = %q, want %q (all: %q)", k, head.Metadata[k], v, head.Metadata)
					}
				}
			}
		})
	}
}

func TestMemoryLimitShared(t *testing.T) {
	m := emulators.StartMinIO(t)
	cfg := minioConfig(m, m.NewBucket(t), "")
	// Room for one part buffer only: concurrent multipart Puts take
	// turns, and none deadlocks waiting for a second buffer.
	cfg.PartSize, cfg.Concurrency, cfg.MemoryLimit = MinPartSize, 4, MinPartSize
	d := newTestDriver(t, cfg)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			data := remotetest.RandomBytes(uint64(100+i), 3*MinPartSize+i)
			key := fmt.Sprintf("shared/%d", i)
			info, err := d.Put(t.Context(), key, remotetest.OnlyReader(bytes.NewReader(data)), location.PutOptions{Size: -1})
			if err != nil || info.ETag != remotetest.MD5Hex(data) {
				t.Errorf("Put(%s) = %+v, %v", key, info, err)
			}
		})
	}
	wg.Wait()
	pool := d.(*driver).bufs
	if n := pool.Idle(); n > 1 {
		t.Fatalf("%d idle part buffers, limit allows 1", n)
	}
	// A Put waiting for memory stops when its ctx ends.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	held, err := pool.Get(t.Context(), pool.Size())
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Put(ctx, "waits", strings.NewReader("x"), location.PutOptions{Size: -1})
	pool.Put(held)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put without memory: error = %v, want context.DeadlineExceeded", err)
	}
}

func TestStoreDown(t *testing.T) {
	m := emulators.StartMinIO(t)
	bucket := m.NewBucket(t)
	d := newTestDriver(t, minioConfig(m, bucket, ""))
	if _, err := d.Put(t.Context(), "before", strings.NewReader("x"), location.PutOptions{Size: 1}); err != nil {
		t.Fatal(err)
	}
	m.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Errors while the store is down are not "not found": a replicator
	// must retry them, not conclude the object is gone.
	if _, err := d.Stat(ctx, "before"); err == nil || errors.Is(err, location.ErrNotFound) {
		t.Fatalf("Stat with the store down: %v, want a transport error", err)
	}
	if _, err := d.Put(ctx, "during", strings.NewReader("x"), location.PutOptions{Size: 1}); err == nil {
		t.Fatal("Put with the store down succeeded")
	}
	m.Restart(t)
	if _, err := d.Put(t.Context(), "after", strings.NewReader("x"), location.PutOptions{Size: 1}); err != nil {
		t.Fatalf("Put after the store came back: %v", err)
	}
	if _, err := d.Stat(t.Context(), "before"); err != nil {
		t.Fatalf("Stat after the store came back: %v", err)
	}
}

func TestMissingBucket(t *testing.T) {
	m := emulators.StartMinIO(t)
	d := newTestDriver(t, minioConfig(m, "no-such-bucket", ""))
	if _, err := d.Put(t.Context(), "k", strings.NewReader("x"), location.PutOptions{Size: 1}); err == nil {
		t.Fatal("Put into a missing bucket succeeded")
	}
	rc, _, err := d.Get(t.Context(), "k", nil)
	if err == nil {
		rc.Close()
	}
	if err == nil || errors.Is(err, location.ErrNotFound) {
		t.Fatalf("Get from a missing bucket: %v, want an error other than ErrNotFound", err)
	}
}
