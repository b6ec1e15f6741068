package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

func benchHeaderRequest(b *testing.B) *http.Request {
	b.Helper()
	req, err := http.NewRequest("GET", "http://bucket.s3.sluice.test/dir/some%20object.txt?versionId=abc&partNumber=2", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Range", "bytes=0-99")
	req.Header.Set("X-Amz-Meta-Color", "blue")
	sdkSign(b, req, nil, "", sdkCreds(), testRegion, fixedNow)
	req.RequestURI = req.URL.RequestURI()
	return req
}

func BenchmarkVerifyHeader(b *testing.B) {
	v := newTestVerifier()
	req := benchHeaderRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := v.Verify(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPresigned(b *testing.B) {
	v := newTestVerifier()
	req := sdkPresign(b, "GET", "http://bucket.s3.sluice.test", "/dir/some%20object.txt", 3600, nil, sdkCreds(), testRegion, fixedNow)
	req.RequestURI = req.URL.RequestURI()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := v.Verify(req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode(b *testing.B, body []byte, decoded int, signed, trailer bool) {
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(decoded))
	b.ReportAllocs()
	for b.Loop() {
		var s *chunkSigner
		if signed {
			s = fuzzSigner()
		}
		c := newChunkedReader(bytes.NewReader(body), s, trailer, nil, int64(decoded))
		n, err := io.CopyBuffer(io.Discard, onlyReader{c}, buf)
		if err != nil || n != int64(decoded) {
			b.Fatalf("n = %d, err = %v", n, err)
		}
	}
}

// onlyReader hides WriterTo/ReaderFrom so io.CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }

func BenchmarkChunkedSigned64KiB(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	benchDecode(b, signedSeed(data, 64<<10, false), len(data), true, false)
}

func BenchmarkChunkedSignedTrailer64KiB(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	benchDecode(b, signedSeed(data, 64<<10, true), len(data), true, true)
}

func BenchmarkChunkedUnsignedTrailer64KiB(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	benchDecode(b, unsignedTrailerBody(data, 64<<10, "x-amz-checksum-crc32:"+crc32Base64(data)+"\r\n"), len(data), false, true)
}

func BenchmarkSHA256Body(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	want := hexSHA256(data)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := newSHA256Body(io.NopCloser(bytes.NewReader(data)), want)
		if _, err := io.CopyBuffer(io.Discard, onlyReader{r}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
