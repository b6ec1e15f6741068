package sigv4

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, tc := range authorizationCases {
		f.Add(tc.header)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, err := parseAuthorization(header)
		if err != nil {
			switch err.Code() {
			case CodeAuthorizationHeaderMalformed, CodeInvalidRequest, CodeInvalidArgument:
			default:
				t.Fatalf("unexpected code %s", err.Code())
			}
			if !utf8.ValidString(err.Message()) || len(err.Message()) > 512 {
				t.Fatalf("message not bounded UTF-8: %q", err.Message())
			}
			for _, f := range err.BodyFields() {
				if !utf8.ValidString(f[1]) || len(f[1]) > 128 {
					t.Fatalf("body field %s not bounded UTF-8: %q", f[0], f[1])
				}
			}
			return
		}
		if len(a.Signature) != 32 || a.Credential.AccessKey == "" || len(a.SignedHeaders.Names) == 0 {
			t.Fatalf("accepted incomplete authorization %+v", a)
		}
		// A parsed header re-serialized in SDK form parses to the same thing.
		again := fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%x",
			a.Credential, a.SignedHeaders.Raw, a.Signature)
		b, err2 := parseAuthorization(again)
		if err2 != nil {
			t.Fatalf("re-serialized %q: %v", again, err2)
		}
		if b.Credential != a.Credential || b.SignedHeaders.Raw != a.SignedHeaders.Raw || !bytes.Equal(a.Signature, b.Signature) {
			t.Fatalf("round trip differs: %+v vs %+v", a, b)
		}
	})
}

// splitReader returns reads of pseudo-random sizes (1..17 bytes).
type splitReader struct {
	data []byte
	rnd  *rand.Rand
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(s.data), 1+s.rnd.IntN(17))
	copy(p, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}

func fuzzSigner() *chunkSigner {
	return &chunkSigner{
		key:     deriveSigningKey("fuzz-secret", "20250314", "us-east-1", "s3"),
		amzDate: "20250314T150926Z",
		scope:   "20250314/us-east-1/s3/aws4_request",
		prev:    strings.Repeat("ab", 32),
	}
}

// signedSeed encodes data as a valid signed aws-chunked body for fuzzSigner,
// with a signed trailer when trailer is set.
func signedSeed(data []byte, chunk int, trailer bool) []byte {
	s := fuzzSigner()
	var b bytes.Buffer
	for off := 0; ; off += chunk {
		c := data[min(off, len(data)):min(off+chunk, len(data))]
		sum := sha256Sum(c)
		sig := s.chunkSignature(sum)
		s.prev = hex.EncodeToString(sig)
		fmt.Fprintf(&b, "%x;chunk-signature=%x\r\n", len(c), sig)
		if len(c) == 0 {
			break
		}
		b.Write(c)
		b.WriteString("\r\n")
	}
	if !trailer {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	b.WriteString("x-amz-checksum-crc32:" + crc32Base64(data) + "\r\n")
	fmt.Fprintf(&b, "x-amz-trailer-signature:%x\r\n\r\n", s.trailerSignature("x-amz-checksum-crc32:"+crc32Base64(data)+"\n"))
	return b.Bytes()
}

func sha256Sum(b []byte) []byte {
	h, _ := hex.DecodeString(hexSHA256(b))
	return h
}

func FuzzChunkedReader(f *testing.F) {
	for _, tc := range chunkedCases {
		f.Add([]byte(tc.in), uint64(1), false, tc.trailer)
	}
	f.Add(signedSeed([]byte("hello, signed world"), 7, false), uint64(2), true, false)
	f.Add(signedSeed([]byte("hello, signed trailer"), 5, true), uint64(3), true, true)
	f.Add(unsignedTrailerBody([]byte("unsigned trailer body"), 4, "x-amz-checksum-crc32:AAAAAA==\r\n"), uint64(4), false, true)
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, signed, trailer bool) {
		decode := func(r io.Reader, bufSize int) ([]byte, string, http.Header) {
			var s *chunkSigner
			if signed {
				s = fuzzSigner()
			}
			c := newChunkedReader(r, s, trailer, nil, -1)
			out, code := decodeAll(t, c, len(in), make([]byte, bufSize))
			return out, code, c.Trailer()
		}
		whole, code1, tr1 := decode(bytes.NewReader(in), 32<<10)
		rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		split, code2, tr2 := decode(&splitReader{data: in, rnd: rnd}, 1+rnd.IntN(64))
		if len(whole) > len(in) {
			t.Fatalf("decoded %d bytes from %d input bytes", len(whole), len(in))
		}
		if strings.HasPrefix(code1, "internal") || strings.HasPrefix(code2, "internal") {
			t.Fatalf("non-S3 error: %s / %s", code1, code2)
		}
		// The outcome must not depend on how the input is split; on error the
		// bytes handed out before it may differ in length but not content.
		if code1 != code2 {
			t.Fatalf("whole read %s, split read %s", code1, code2)
		}
		if code1 == "OK" && !bytes.Equal(whole, split) {
			t.Fatalf("whole and split decode differ")
		}
		if !bytes.HasPrefix(whole, split) && !bytes.HasPrefix(split, whole) {
			t.Fatalf("whole and split decodes diverge")
		}
		if fmt.Sprint(tr1) != fmt.Sprint(tr2) {
			t.Fatalf("trailers differ: %v vs %v", tr1, tr2)
		}
	})
}

func FuzzPresignedQuery(f *testing.F) {
	for _, tc := range presignedQueryCases {
		f.Add(tc.query)
	}
	v := &Verifier{
		Credentials: StaticCredentials{"AKID": {Secret: "s", Principal: "p"}},
		Now:         func() time.Time { return time.Date(2013, 5, 24, 0, 0, 30, 0, time.UTC) },
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		p, err := parsePresigned(rawQuery)
		if err == nil {
			if p.Expires < time.Second || p.Expires > MaxPresignExpires*time.Second || len(p.Signature) != 32 ||
				p.Credential.AccessKey == "" || !strings.Contains(";"+strings.Join(p.SignedHeaders.Names, ";")+";", ";host;") {
				t.Fatalf("accepted invalid parameters %+v", p)
			}
			if p.PayloadHash != payloadUnsigned && !isHexSHA256(p.PayloadHash) {
				t.Fatalf("accepted payload hash %q", p.PayloadHash)
			}
		} else if !utf8.ValidString(err.Message()) {
			t.Fatalf("message not UTF-8: %q", err.Message())
		}
		// The whole verifier never panics and answers with an S3 error.
		r, rerr := http.NewRequest("GET", "http://bucket.example/key", nil)
		if rerr != nil {
			t.Fatal(rerr)
		}
		r.URL.RawQuery = rawQuery
		r.RequestURI = "/key?" + rawQuery
		_, body, verr := v.Verify(r)
		if verr == nil {
			_ = body.Close()
			return
		}
		var e *Error
		if !errors.As(verr, &e) {
			t.Fatalf("Verify returned a non-S3 error: %v", verr)
		}
	})
}
