package sigv4

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// fakeS3 is the smallest S3 that lets the real aws-sdk-go-v2 client talk to
// a Verifier: PUT stores the decoded body after checking the CRC32 the
// client sent (header or trailer), GET and HEAD return it, list returns an
// empty listing. Errors are S3 XML errors with the Verifier's codes.
type fakeS3 struct {
	v         *Verifier
	vhostBase string // "s3.sluice.test": Host bucket.<vhostBase>:port is virtual-host style

	mu      sync.Mutex
	objects map[string][]byte
	modes   []PayloadMode
	crcFrom []string // "header" or "trailer" per PUT
}

func writeXMLError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: code, Message: msg})
}

func (f *fakeS3) fail(w http.ResponseWriter, err error) {
	var e *Error
	if errors.As(err, &e) {
		writeXMLError(w, e.HTTPStatus(), e.Code(), e.Message())
		return
	}
	writeXMLError(w, http.StatusInternalServerError, "InternalError", "internal error")
}

// objectName returns "bucket/key" for path-style and virtual-host style.
func (f *fakeS3) objectName(r *http.Request) string {
	host, _, _ := strings.Cut(r.Host, ":")
	if b, ok := strings.CutSuffix(host, "."+f.vhostBase); ok {
		return b + r.URL.Path
	}
	return strings.TrimPrefix(r.URL.Path, "/")
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, body, err := f.v.Verify(r)
	if err != nil {
		f.fail(w, err)
		return
	}
	defer body.Close()
	name := f.objectName(r)
	switch {
	case r.Method == http.MethodPut:
		data, err := io.ReadAll(body)
		if err != nil {
			f.fail(w, err)
			return
		}
		want, from := r.Header.Get("X-Amz-Checksum-Crc32"), "header"
		if t := res.Trailer().Get("X-Amz-Checksum-Crc32"); t != "" {
			want, from = t, "trailer"
		}
		if want == "" || want != crc32Base64(data) {
			writeXMLError(w, http.StatusBadRequest, "BadDigest", "crc32 "+from+" mismatch")
			return
		}
		f.mu.Lock()
		f.objects[name] = data
		f.modes = append(f.modes, res.PayloadMode)
		f.crcFrom = append(f.crcFrom, from)
		f.mu.Unlock()
		w.Header().Set("ETag", fmt.Sprintf("\"%08x\"", crc32.ChecksumIEEE(data)))
	case r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		f.mu.Lock()
		data, ok := f.objects[name]
		f.mu.Unlock()
		if !ok {
			writeXMLError(w, http.StatusNotFound, "NoSuchKey", "no such key")
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeXMLError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "method not allowed")
	}
}

type e2eEnv struct {
	fake   *fakeS3
	srv    *httptest.Server
	client *s3.Client
}

// startE2E starts the fake S3 on 127.0.0.1 (TLS or not) and an SDK client
// for it; vhost selects virtual-host style addressing (every host name is
// dialled to the test server).
func startE2E(t *testing.T, useTLS, vhost bool, secret string) *e2eEnv {
	t.Helper()
	fake := &fakeS3{
		v:         &Verifier{Region: testRegion, Credentials: testCredentials()},
		vhostBase: "s3.sluice.test",
		objects:   map[string][]byte{},
	}
	var srv *httptest.Server
	if useTLS {
		srv = httptest.NewTLSServer(fake)
	} else {
		srv = httptest.NewServer(fake)
	}
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	addr := srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	if tr.TLSClientConfig != nil {
		tr.TLSClientConfig.ServerName = "example.com" // a name in httptest's certificate
	}
	t.Cleanup(tr.CloseIdleConnections)
	_, port, _ := net.SplitHostPort(addr)
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	endpoint := scheme + "://127.0.0.1:" + port
	if vhost {
		endpoint = scheme + "://s3.sluice.test:" + port
	}
	// The SDK's default configuration (checksums "when supported"), without
	// the machine's shared config files or AWS_* environment.
	for _, env := range []string{"AWS_CA_BUNDLE", "AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		t.Setenv(env, "")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(testRegion),
		config.WithCredentialsProvider(aws.NewCredentialsCache(credsProvider{testAccessKey, secret})),
		config.WithHTTPClient(&http.Client{Transport: tr}),
		config.WithRetryMaxAttempts(1),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = !vhost
	})
	return &e2eEnv{fake: fake, srv: srv, client: client}
}

type credsProvider struct{ ak, secret string }

func (c credsProvider) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: c.ak, SecretAccessKey: c.secret, Source: "test"}, nil
}

func TestE2ESDKPutGet(t *testing.T) {
	big := make([]byte, 3<<20+12345)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		tls      bool
		vhost    bool
		wantMode PayloadMode
		crcFrom  string
	}{
		// Over plain HTTP the SDK hashes the body (signed payload) and sends
		// the CRC32 as a header; over HTTPS it streams aws-chunked with an
		// unsigned payload and the CRC32 as a trailer.
		{"http path-style", false, false, PayloadSHA256, "header"},
		{"http virtual-host", false, true, PayloadSHA256, "header"},
		{"https path-style", true, false, PayloadStreamingUnsignedTrailer, "trailer"},
		{"https virtual-host", true, true, PayloadStreamingUnsignedTrailer, "trailer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startE2E(t, tc.tls, tc.vhost, testSecret)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			keys := oddKeys
			if tc.vhost {
				keys = []string{"plain.txt", "with space.txt", "double//slash", "plus+é"}
			}
			bucket := "bucket"
			for i, key := range keys {
				if strings.ContainsAny(key, "\r\n\t") && tc.vhost {
					continue
				}
				body := []byte(fmt.Sprintf("object %d: %q", i, key))
				if i == 0 {
					body = big
				}
				if _, err := env.client.PutObject(ctx, &s3.PutObjectInput{
					Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
				}); err != nil {
					t.Fatalf("PutObject %q: %v", key, err)
				}
				out, err := env.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if err != nil {
					t.Fatalf("GetObject %q: %v", key, err)
				}
				got, err := io.ReadAll(out.Body)
				_ = out.Body.Close()
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("GetObject %q: %d bytes, err %v; want %d bytes", key, len(got), err, len(body))
				}
				if _, err := env.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
					t.Fatalf("HeadObject %q: %v", key, err)
				}
				if _, err := env.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
					t.Fatalf("DeleteObject %q: %v", key, err)
				}
			}
			env.fake.mu.Lock()
			defer env.fake.mu.Unlock()
			if len(env.fake.modes) == 0 {
				t.Fatal("no PUT seen")
			}
			for i, m := range env.fake.modes {
				if m != tc.wantMode || env.fake.crcFrom[i] != tc.crcFrom {
					t.Fatalf("PUT %d: mode %s crc from %s, want %s from %s", i, m, env.fake.crcFrom[i], tc.wantMode, tc.crcFrom)
				}
			}
		})
	}
}

func TestE2ESDKQueriesAndParts(t *testing.T) {
	env := startE2E(t, true, false, testSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, prefix := range []string{"", "a b/", "é+=&?/~", "%2F"} {
		if _, err := env.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String("bucket"), Prefix: aws.String(prefix), Delimiter: aws.String("/"),
			StartAfter: aws.String("x y"), MaxKeys: aws.Int32(7),
		}); err != nil {
			t.Fatalf("ListObjectsV2 prefix %q: %v", prefix, err)
		}
	}
	part := bytes.Repeat([]byte("part-data "), 100000)
	// An unseekable body forces the streaming trailer encoding.
	if _, err := env.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String("bucket"), Key: aws.String("multi part"), UploadId: aws.String("upload/id+1=="),
		PartNumber: aws.Int32(3), Body: io.MultiReader(bytes.NewReader(part)), ContentLength: aws.Int64(int64(len(part))),
	}); err != nil {
		t.Fatalf("UploadPart: %v", err)
	}
	env.fake.mu.Lock()
	got := env.fake.objects["bucket/multi part"]
	env.fake.mu.Unlock()
	if !bytes.Equal(got, part) {
		t.Fatalf("part stored %d bytes, want %d", len(got), len(part))
	}
}

func TestE2ESDKWrongSecret(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		env := startE2E(t, useTLS, false, "not-the-secret")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := env.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("bucket"), Key: aws.String("k"), Body: strings.NewReader("data"),
		})
		cancel()
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != CodeSignatureDoesNotMatch {
			t.Fatalf("tls=%v: err = %v, want SignatureDoesNotMatch", useTLS, err)
		}
	}
}

func TestE2ESDKPresignClient(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		env := startE2E(t, useTLS, false, testSecret)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		presigner := s3.NewPresignClient(env.client, s3.WithPresignExpires(10*time.Minute))
		body := []byte("presigned via the SDK presign client")
		key := "presigned dir/obj+é.txt"
		put, err := presigner.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequestWithContext(ctx, put.Method, put.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range put.SignedHeader {
			if http.CanonicalHeaderKey(k) != "Host" {
				req.Header[k] = vs
			}
		}
		// The fake S3 wants a CRC32 for PUTs; an unsigned extra header
		// that is not x-amz-* is allowed.
		req.Header.Set("X-Amz-Checksum-Crc32", crc32Base64(body))
		resp, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		// x-amz-checksum-crc32 was not signed: S3 (and Verify) refuse it.
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(msg), CodeAccessDenied) {
			t.Fatalf("tls=%v: unsigned x-amz header: status %d %s", useTLS, resp.StatusCode, msg)
		}
		// Presign with the checksum so it is signed.
		put, err = presigner.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key),
			ChecksumCRC32: aws.String(crc32Base64(body))})
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequestWithContext(ctx, put.Method, put.URL, bytes.NewReader(body))
		for k, vs := range put.SignedHeader {
			if http.CanonicalHeaderKey(k) != "Host" {
				req.Header[k] = vs
			}
		}
		if req.Header.Get("X-Amz-Checksum-Crc32") == "" {
			req.Header.Set("X-Amz-Checksum-Crc32", crc32Base64(body)) // hoisted to the query instead
		}
		resp, err = env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("tls=%v: presigned PUT: status %d %s (url %s)", useTLS, resp.StatusCode, msg, put.URL)
		}
		get, err := presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err = env.srv.Client().Get(get.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("tls=%v: presigned GET: status %d body %q", useTLS, resp.StatusCode, got)
		}
	}
}
