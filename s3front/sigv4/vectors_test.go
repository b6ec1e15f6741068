package sigv4

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Test vectors published in the Amazon S3 API reference ("Signature
// Calculations for the Authorization Header", "Transferring Payload in
// Multiple Chunks", "Including Trailing Headers" and "Query String
// Authentication" examples).
const (
	docAccessKey = "AKIAIOSFODNN7EXAMPLE"
	docSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func docVerifier() *Verifier {
	return &Verifier{
		Region:      "us-east-1",
		Credentials: StaticCredentials{docAccessKey: {Secret: docSecret, Principal: "doc"}},
		Now:         func() time.Time { return time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC) },
	}
}

func docRequest(t *testing.T, method, target, host string, body []byte, headers [][2]string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, "http://"+host+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	r.RequestURI = target
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	return r
}

func TestAWSDocumentationVectors(t *testing.T) {
	const amzDate = "20130524T000000Z"
	auth := func(signed, sig string) string {
		return "AWS4-HMAC-SHA256 Credential=" + docAccessKey + "/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
			signed + ",Signature=" + sig
	}
	tests := []struct {
		name    string
		method  string
		target  string
		body    []byte
		headers [][2]string
		want    string // expected body
	}{
		{
			name:   "GET object with range",
			method: "GET", target: "/test.txt",
			headers: [][2]string{
				{"Range", "bytes=0-9"},
				{"X-Amz-Content-Sha256", emptySHA256},
				{"X-Amz-Date", amzDate},
				{"Authorization", auth("host;range;x-amz-content-sha256;x-amz-date",
					"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")},
			},
		},
		{
			name:   "PUT object",
			method: "PUT", target: "/test%24file.text",
			body: []byte("Welcome to Amazon S3."),
			headers: [][2]string{
				{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
				{"X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
				{"X-Amz-Date", amzDate},
				{"X-Amz-Storage-Class", "REDUCED_REDUNDANCY"},
				{"Authorization", auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
					"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")},
			},
			want: "Welcome to Amazon S3.",
		},
		{
			name:   "GET bucket lifecycle",
			method: "GET", target: "/?lifecycle",
			headers: [][2]string{
				{"X-Amz-Content-Sha256", emptySHA256},
				{"X-Amz-Date", amzDate},
				{"Authorization", auth("host;x-amz-content-sha256;x-amz-date",
					"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")},
			},
		},
		{
			name:   "list objects",
			method: "GET", target: "/?max-keys=2&prefix=J",
			headers: [][2]string{
				{"X-Amz-Content-Sha256", emptySHA256},
				{"X-Amz-Date", amzDate},
				{"Authorization", auth("host;x-amz-content-sha256;x-amz-date",
					"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")},
			},
		},
		{
			name:   "presigned GET",
			method: "GET",
			target: "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
				"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
				"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := docRequest(t, tc.method, tc.target, "examplebucket.s3.amazonaws.com", tc.body, tc.headers)
			res, body, err := docVerifier().Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := io.ReadAll(body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("body = %q, want %q", got, tc.want)
			}
			if res.AccessKey != docAccessKey || res.Principal != "doc" {
				t.Fatalf("result = %+v", res)
			}
			// Any change of the signature must fail.
			r2 := docRequest(t, tc.method, tc.target, "examplebucket.s3.amazonaws.com", tc.body, tc.headers)
			r2.Host = "otherbucket.s3.amazonaws.com"
			if _, _, err := docVerifier().Verify(r2); !errors.Is(err, ErrSignatureDoesNotMatch) {
				t.Fatalf("other host: err = %v, want SignatureDoesNotMatch", err)
			}
		})
	}
}

// docStreamingBody builds the 66560-byte 'a' object of the chunked upload
// example with the published chunk signatures.
func docStreamingBody(tamper bool) []byte {
	var b bytes.Buffer
	data := bytes.Repeat([]byte{'a'}, 65536)
	if tamper {
		data[100] = 'b'
	}
	b.WriteString("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n")
	b.Write(data)
	b.WriteString("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 1024))
	b.WriteString("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
	return b.Bytes()
}

func TestAWSDocumentationStreamingVector(t *testing.T) {
	for _, tamper := range []bool{false, true} {
		body := docStreamingBody(tamper)
		if len(body) != 66824 {
			t.Fatalf("encoded length = %d, want 66824", len(body))
		}
		r := docRequest(t, "PUT", "/examplebucket/chunkObject.txt", "s3.amazonaws.com", body, [][2]string{
			{"X-Amz-Date", "20130524T000000Z"},
			{"X-Amz-Storage-Class", "REDUCED_REDUNDANCY"},
			{"X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
			{"Content-Encoding", "aws-chunked"},
			{"X-Amz-Decoded-Content-Length", "66560"},
			{"Content-Length", "66824"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
				"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;" +
				"x-amz-decoded-content-length;x-amz-storage-class," +
				"Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"},
		})
		res, rc, err := docVerifier().Verify(r)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if res.PayloadMode != PayloadStreamingSigned || res.DecodedContentLength != 66560 || res.ContentEncoding != "" {
			t.Fatalf("result = %+v", res)
		}
		got, err := io.ReadAll(rc)
		if tamper {
			if !errors.Is(err, ErrChunkSignature) || !errors.Is(err, ErrSignatureDoesNotMatch) {
				t.Fatalf("tampered: err = %v, want chunk SignatureDoesNotMatch", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 66560)) {
			t.Fatalf("decoded %d bytes, want 66560 'a'", len(got))
		}
	}
}

func TestAWSDocumentationTrailerSignatureVector(t *testing.T) {
	s := &chunkSigner{
		key:     deriveSigningKey(docSecret, "20130524", "us-east-1", "s3"),
		amzDate: "20130524T000000Z",
		scope:   "20130524/us-east-1/s3/aws4_request",
		prev:    "e05ab64fe1dfdbf0b5870abbaabdb063c371d4e96f2767e6934d90529c5ae850",
	}
	got := hex.EncodeToString(s.trailerSignature("x-amz-checksum-crc32c:wdBDMA==\n"))
	if got != "41e14ac611e27a8bb3d66c3bad6856f209297767d5dd4fc87d8fa9e422e03faf" {
		t.Fatalf("trailer signature = %s", got)
	}
	if !strings.HasPrefix(s.prev, "e05ab64f") {
		t.Fatal("computing a signature must not advance the chain")
	}
}
