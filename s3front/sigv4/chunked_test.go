package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// testHMAC and testSigningKey are an independent statement of the SigV4 key
// derivation, used only to sign test trailers.
func testHMAC(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func testSigningKey(secret string, at time.Time, region string) []byte {
	k := testHMAC([]byte("AWS4"+secret), at.UTC().Format("20060102"))
	k = testHMAC(k, region)
	k = testHMAC(k, "s3")
	return testHMAC(k, "aws4_request")
}

// chunkedUpload describes a signed aws-chunked request built by the test
// encoder.
type chunkedUpload struct {
	data      []byte
	chunkSize int
	trailer   [][2]string // signed trailer when not nil
	// mutations applied to the encoded pieces
	tamperData      bool // flip one data byte after signing
	tamperSig       bool // flip one hex digit of the second chunk signature
	tamperFinalSig  bool
	tamperTrailer   bool // change a trailer value after signing
	dropTrailerSig  bool
	decodedLength   string // x-amz-decoded-content-length; "" = len(data), "-" = absent
	truncate        int    // bytes cut from the end of the encoded body
	declareTrailers string // x-amz-trailer; "" = names of trailer
}

// encodeSigned produces the aws-chunked body, chaining chunk signatures
// with the SDK's stream signer from seed (hex).
func (u chunkedUpload) encodeSigned(t *testing.T, seed string, at time.Time) []byte {
	t.Helper()
	seedBytes, err := hex.DecodeString(seed)
	if err != nil {
		t.Fatal(err)
	}
	ss := v4.NewStreamSigner(sdkCreds(), "s3", testRegion, seedBytes)
	var b bytes.Buffer
	chunks := [][]byte{}
	for off := 0; off < len(u.data); off += u.chunkSize {
		chunks = append(chunks, u.data[off:min(off+u.chunkSize, len(u.data))])
	}
	chunks = append(chunks, nil)
	var last []byte
	for i, c := range chunks {
		sig, err := ss.GetSignature(context.Background(), nil, c, at)
		if err != nil {
			t.Fatal(err)
		}
		last = sig
		hs := hex.EncodeToString(sig)
		if (u.tamperSig && i == 1) || (u.tamperFinalSig && len(c) == 0) {
			hs = flipHex(hs)
		}
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), hs)
		if len(c) > 0 {
			start := b.Len()
			b.Write(c)
			if u.tamperData && i == 0 {
				b.Bytes()[start+len(c)/2] ^= 0x20
			}
			b.WriteString("\r\n")
		}
	}
	if u.trailer == nil {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	var canon strings.Builder
	sorted := slices.Clone(u.trailer)
	slices.SortFunc(sorted, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for _, kv := range sorted {
		canon.WriteString(kv[0] + ":" + kv[1] + "\n")
	}
	sum := sha256.Sum256([]byte(canon.String()))
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + at.UTC().Format(amzDateFormat) + "\n" +
		at.UTC().Format("20060102") + "/" + testRegion + "/s3/aws4_request\n" +
		hex.EncodeToString(last) + "\n" + hex.EncodeToString(sum[:])
	tsig := hex.EncodeToString(testHMAC(testSigningKey(testSecret, at, testRegion), sts))
	for _, kv := range u.trailer {
		v := kv[1]
		if u.tamperTrailer {
			v = "AAAAAA=="
		}
		b.WriteString(kv[0] + ":" + v + "\r\n")
	}
	if !u.dropTrailerSig {
		b.WriteString("x-amz-trailer-signature:" + tsig + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func flipHex(s string) string {
	b := []byte(s)
	if b[10] == '0' {
		b[10] = '1'
	} else {
		b[10] = '0'
	}
	return string(b)
}

// request builds the signed request: it signs with the SDK (seed
// signature), then encodes the body with that seed.
func (u chunkedUpload) request(t *testing.T, base string) *http.Request {
	t.Helper()
	mode := "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	if u.trailer != nil {
		mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	}
	dummy := u.encodeSigned(t, strings.Repeat("0", 64), fixedNow)
	hdr := map[string]string{"Content-Encoding": "aws-chunked,gzip"}
	switch u.decodedLength {
	case "":
		hdr["X-Amz-Decoded-Content-Length"] = strconv.Itoa(len(u.data))
	case "-":
	default:
		hdr["X-Amz-Decoded-Content-Length"] = u.decodedLength
	}
	if u.trailer != nil {
		names := u.declareTrailers
		if names == "" {
			var ns []string
			for _, kv := range u.trailer {
				ns = append(ns, kv[0])
			}
			names = strings.Join(ns, ",")
		}
		hdr["X-Amz-Trailer"] = names
	}
	req := newRawRequest(t, "PUT", base, "/bucket/chunked%20object", dummy, hdr)
	req.ContentLength = int64(len(dummy) - u.truncate)
	sdkSign(t, req, nil, mode, sdkCreds(), testRegion, fixedNow)
	auth := req.Header.Get("Authorization")
	seed := auth[strings.LastIndex(auth, "Signature=")+len("Signature="):]
	body := u.encodeSigned(t, seed, fixedNow)
	body = body[:len(body)-u.truncate]
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = nil
	return req
}

func crc32Base64(b []byte) string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestSignedStreaming(t *testing.T) {
	data := make([]byte, 200_000)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	crc := crc32Base64(data)
	tests := []struct {
		name string
		u    chunkedUpload
		code string
		is   error
	}{
		{"empty object", chunkedUpload{data: []byte{}, chunkSize: 65536}, "OK", nil},
		{"one byte", chunkedUpload{data: data[:1], chunkSize: 65536}, "OK", nil},
		{"exact chunk", chunkedUpload{data: data[:65536], chunkSize: 65536}, "OK", nil},
		{"chunk plus one", chunkedUpload{data: data[:65537], chunkSize: 65536}, "OK", nil},
		{"many small chunks", chunkedUpload{data: data, chunkSize: 8192}, "OK", nil},
		{"tampered data byte", chunkedUpload{data: data, chunkSize: 65536, tamperData: true}, CodeSignatureDoesNotMatch, ErrChunkSignature},
		{"tampered chunk signature", chunkedUpload{data: data, chunkSize: 65536, tamperSig: true}, CodeSignatureDoesNotMatch, ErrChunkSignature},
		{"tampered final signature", chunkedUpload{data: data, chunkSize: 65536, tamperFinalSig: true}, CodeSignatureDoesNotMatch, ErrChunkSignature},
		{"decoded length too large", chunkedUpload{data: data, chunkSize: 65536, decodedLength: "200001"}, CodeIncompleteBody, nil},
		{"decoded length too small", chunkedUpload{data: data, chunkSize: 65536, decodedLength: "199999"}, CodeIncompleteBody, nil},
		{"decoded length missing", chunkedUpload{data: data, chunkSize: 65536, decodedLength: "-"}, CodeMissingContentLength, nil},
		{"decoded length invalid", chunkedUpload{data: data, chunkSize: 65536, decodedLength: "12x"}, CodeMissingContentLength, nil},
		{"small chunk before another", chunkedUpload{data: data[:20000], chunkSize: 1000}, CodeInvalidChunkSizeError, ErrInvalidChunkSize},
		{"truncated", chunkedUpload{data: data, chunkSize: 65536, truncate: 100}, CodeIncompleteBody, nil},
		{"signed trailer", chunkedUpload{data: data, chunkSize: 65536, trailer: [][2]string{{"x-amz-checksum-crc32", crc}}}, "OK", nil},
		{"signed trailer, two headers", chunkedUpload{data: data, chunkSize: 65536,
			trailer: [][2]string{{"x-amz-checksum-crc32", crc}, {"x-amz-checksum-a", "b"}}}, "OK", nil},
		{"signed trailer tampered", chunkedUpload{data: data, chunkSize: 65536, tamperTrailer: true,
			trailer: [][2]string{{"x-amz-checksum-crc32", crc}}}, CodeSignatureDoesNotMatch, ErrChunkSignature},
		{"signed trailer without signature", chunkedUpload{data: data, chunkSize: 65536, dropTrailerSig: true,
			trailer: [][2]string{{"x-amz-checksum-crc32", crc}}}, CodeIncompleteBody, ErrMalformedChunk},
		{"signed trailer not declared", chunkedUpload{data: data, chunkSize: 65536, declareTrailers: "x-amz-checksum-sha256",
			trailer: [][2]string{{"x-amz-checksum-crc32", crc}}}, CodeMalformedTrailerError, ErrMalformedTrailer},
	}
	srv := startVerifyServer(t, newTestVerifier(), false)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := srv.do(t, tc.u.request(t, srv.URL))
			if o.code() != tc.code {
				t.Fatalf("code = %s (%v / %v), want %s", o.code(), o.verifyErr, o.readErr, tc.code)
			}
			if tc.is != nil && !errors.Is(o.readErr, tc.is) {
				t.Fatalf("read err = %v, want %v", o.readErr, tc.is)
			}
			if tc.code != "OK" {
				return
			}
			if !bytes.Equal(o.body, tc.u.data) {
				t.Fatalf("decoded %d bytes, want %d", len(o.body), len(tc.u.data))
			}
			if o.res.DecodedContentLength != int64(len(tc.u.data)) || o.res.ContentEncoding != "gzip" {
				t.Fatalf("result = %+v", o.res)
			}
			if tc.u.trailer != nil {
				for _, kv := range tc.u.trailer {
					if got := o.trailer.Get(kv[0]); got != kv[1] {
						t.Fatalf("trailer %s = %q, want %q", kv[0], got, kv[1])
					}
				}
				if o.trailer.Get(trailerSignatureName) != "" {
					t.Fatal("trailer signature exposed as a trailer")
				}
			}
		})
	}
}

// unsignedTrailerBody encodes data as STREAMING-UNSIGNED-PAYLOAD-TRAILER
// does, with the given trailer lines.
func unsignedTrailerBody(data []byte, chunkSize int, trailer string) []byte {
	var b bytes.Buffer
	for off := 0; off < len(data); off += chunkSize {
		c := data[off:min(off+chunkSize, len(data))]
		fmt.Fprintf(&b, "%x\r\n", len(c))
		b.Write(c)
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\n" + trailer + "\r\n")
	return b.Bytes()
}

func TestUnsignedTrailerStreaming(t *testing.T) {
	data := bytes.Repeat([]byte("sluice "), 30000)
	crc := crc32Base64(data)
	tests := []struct {
		name     string
		body     []byte
		declared string
		decoded  string
		code     string
	}{
		{"ok", unsignedTrailerBody(data, 65536, "x-amz-checksum-crc32:"+crc+"\r\n"), "x-amz-checksum-crc32", strconv.Itoa(len(data)), "OK"},
		{"no decoded length", unsignedTrailerBody(data, 65536, "x-amz-checksum-crc32:"+crc+"\r\n"), "x-amz-checksum-crc32", "", CodeMissingContentLength},
		{"small chunks", unsignedTrailerBody(data, 1000, "x-amz-checksum-crc32:"+crc+"\r\n"), "x-amz-checksum-crc32", strconv.Itoa(len(data)), CodeInvalidChunkSizeError},
		{"missing declared trailer", unsignedTrailerBody(data, 65536, ""), "x-amz-checksum-crc32", strconv.Itoa(len(data)), CodeMalformedTrailerError},
		{"undeclared trailer", unsignedTrailerBody(data, 65536, "x-amz-checksum-crc32:"+crc+"\r\nx-other:1\r\n"), "x-amz-checksum-crc32", strconv.Itoa(len(data)), CodeMalformedTrailerError},
		{"no x-amz-trailer", unsignedTrailerBody(data, 65536, "x-amz-checksum-crc32:"+crc+"\r\n"), "", strconv.Itoa(len(data)), CodeMalformedTrailerError},
		{"bad trailer line", unsignedTrailerBody(data, 65536, "no colon here\r\n"), "x-amz-checksum-crc32", strconv.Itoa(len(data)), CodeMalformedTrailerError},
		{"short", unsignedTrailerBody(data, 65536, "x-amz-checksum-crc32:"+crc+"\r\n"), "x-amz-checksum-crc32", strconv.Itoa(len(data) + 1), CodeIncompleteBody},
	}
	srv := startVerifyServer(t, newTestVerifier(), false)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Encoding": "aws-chunked", "X-Amz-Trailer": tc.declared}
			if tc.decoded != "" {
				hdr["X-Amz-Decoded-Content-Length"] = tc.decoded
			}
			req := newRawRequest(t, "PUT", srv.URL, "/bucket/k", tc.body, hdr)
			sdkSign(t, req, nil, string(PayloadStreamingUnsignedTrailer), sdkCreds(), testRegion, fixedNow)
			o := srv.do(t, req)
			if o.code() != tc.code {
				t.Fatalf("code = %s (%v / %v), want %s", o.code(), o.verifyErr, o.readErr, tc.code)
			}
			if tc.code != "OK" {
				return
			}
			if !bytes.Equal(o.body, data) || o.trailer.Get("X-Amz-Checksum-Crc32") != crc ||
				o.res.PayloadMode != PayloadStreamingUnsignedTrailer || o.res.ContentEncoding != "" ||
				!slices.Equal(o.res.DeclaredTrailers, []string{"x-amz-checksum-crc32"}) {
				t.Fatalf("body %d bytes, trailer %v, result %+v", len(o.body), o.trailer, o.res)
			}
		})
	}
}

// chunkedCase is one framing case for the decoder, used by the table test
// and as fuzz seeds.
type chunkedCase struct {
	name     string
	in       string
	trailer  bool
	declared []string
	expect   int64
	want     string // decoded bytes when code is "OK"
	code     string
}

var chunkedCases = []chunkedCase{
	{name: "simple", in: "5\r\nhello\r\n0\r\n\r\n", expect: -1, want: "hello", code: "OK"},
	{name: "two chunks", in: "2000\r\n" + strings.Repeat("a", 8192) + "\r\nA\r\n0123456789\r\n0\r\n\r\n", expect: 8202, want: strings.Repeat("a", 8192) + "0123456789", code: "OK"},
	{name: "upper and lower hex", in: "2000\r\n" + strings.Repeat("b", 8192) + "\r\nB\r\n0123456789a\r\n0\r\n\r\n", expect: -1, want: strings.Repeat("b", 8192) + "0123456789a", code: "OK"},
	{name: "small chunk before another", in: "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", expect: 13, code: CodeInvalidChunkSizeError},
	{name: "small chunk in the middle", in: "2000\r\n" + strings.Repeat("a", 8192) + "\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n", expect: -1, code: CodeInvalidChunkSizeError},
	{name: "extension ignored when unsigned", in: "2;foo=bar\r\nhi\r\n0\r\n\r\n", expect: -1, want: "hi", code: "OK"},
	{name: "no final CRLF", in: "2\r\nhi\r\n0\r\n", expect: -1, want: "hi", code: "OK"},
	{name: "empty object", in: "0\r\n\r\n", expect: 0, want: "", code: "OK"},
	{name: "trailer", in: "2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", trailer: true,
		declared: []string{"x-amz-checksum-crc32"}, expect: 2, want: "hi", code: "OK"},
	{name: "trailer without final CRLF", in: "2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n", trailer: true,
		declared: []string{"x-amz-checksum-crc32"}, expect: -1, code: CodeIncompleteBody},
	{name: "trailer without x-amz-trailer", in: "2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", trailer: true,
		expect: -1, code: CodeMalformedTrailerError},
	{name: "declared trailer missing", in: "2\r\nhi\r\n0\r\n\r\n", trailer: true,
		declared: []string{"x-amz-checksum-crc32"}, expect: -1, code: CodeMalformedTrailerError},
	{name: "body ends after final chunk", in: "2\r\nhi\r\n0\r\n", trailer: true,
		declared: []string{"x-amz-checksum-crc32"}, expect: -1, code: CodeIncompleteBody},
	{name: "empty input", in: "", expect: -1, code: CodeIncompleteBody},
	{name: "bad hex", in: "zz\r\nhello\r\n0\r\n\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "negative size", in: "-5\r\nhello\r\n0\r\n\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "size with space", in: "5 \r\nhello\r\n0\r\n\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "empty size", in: "\r\nhello\r\n0\r\n\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "huge size", in: "ffffffffffffffff\r\nhello\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "size beyond data", in: "fffffff\r\nhello", expect: -1, code: CodeIncompleteBody},
	{name: "LF only", in: "5\nhello\r\n0\r\n\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "missing CRLF after data", in: "5\r\nhelloX\r\n0\r\n\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "truncated data", in: "5\r\nhel", expect: -1, code: CodeIncompleteBody},
	{name: "truncated after data", in: "5\r\nhello", expect: -1, code: CodeIncompleteBody},
	{name: "truncated header", in: "5\r\nhello\r\n0", expect: -1, code: CodeIncompleteBody},
	{name: "long header line", in: strings.Repeat("0", MaxChunkLine+10) + "5\r\nhello\r\n0\r\n\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "more than declared", in: "5\r\nhello\r\n0\r\n\r\n", expect: 4, code: CodeIncompleteBody},
	{name: "past declared without CRLF", in: "B\r\ndummy data\r\n0\r\n\r\n", expect: 10, code: CodeIncompleteBody},
	{name: "less than declared", in: "5\r\nhello\r\n0\r\n\r\n", expect: 6, code: CodeIncompleteBody},
	{name: "garbage after final chunk", in: "5\r\nhello\r\n0\r\nxyz\r\n", expect: -1, code: CodeIncompleteBody},
	{name: "trailer missing colon", in: "0\r\nbad\r\n\r\n", trailer: true, expect: -1, code: CodeMalformedTrailerError},
	{name: "trailer duplicate", in: "0\r\na:1\r\na:2\r\n\r\n", trailer: true, expect: -1, code: CodeMalformedTrailerError},
	{name: "trailer undeclared", in: "0\r\na:1\r\n\r\n", trailer: true, declared: []string{"b"}, expect: -1, code: CodeMalformedTrailerError},
	{name: "trailer too many", in: "0\r\n" + strings.Repeat("x:1\r\n", 1) + func() string {
		var b strings.Builder
		for i := 0; i <= maxTrailers; i++ {
			fmt.Fprintf(&b, "h%d:v\r\n", i)
		}
		return b.String()
	}() + "\r\n", trailer: true, expect: -1, code: CodeMalformedTrailerError},
	{name: "trailer line too long", in: "0\r\nx:" + strings.Repeat("v", MaxChunkLine) + "\r\n\r\n", trailer: true, expect: -1, code: CodeMalformedTrailerError},
	{name: "trailer truncated line", in: "0\r\nx-amz-checksum-crc32:AAA", trailer: true, expect: -1, code: CodeIncompleteBody},
}

// decodeAll reads a decoder to the end and returns the bytes and the error
// code ("OK" for io.EOF). It fails the test if the decoder does not finish
// within a number of reads proportional to the input.
func decodeAll(tb testing.TB, c *chunkedReader, inputLen int, buf []byte) ([]byte, string) {
	tb.Helper()
	var out []byte
	for i := 0; ; i++ {
		if i > 4*inputLen+64 {
			tb.Fatalf("decoder did not finish after %d reads", i)
		}
		n, err := c.Read(buf)
		if n > len(buf) || n < 0 {
			tb.Fatalf("Read returned n = %d", n)
		}
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, "OK"
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return out, e.Code()
			}
			return out, "internal: " + err.Error()
		}
	}
}

func TestChunkedReaderFraming(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+err": iotest.DataErrReader,
	}
	for _, tc := range chunkedCases {
		for rname, wrap := range readers {
			for _, bufSize := range []int{1, 3, 512} {
				t.Run(fmt.Sprintf("%s/%s/%d", tc.name, rname, bufSize), func(t *testing.T) {
					c := newChunkedReader(wrap(strings.NewReader(tc.in)), nil, tc.trailer, tc.declared, tc.expect)
					got, code := decodeAll(t, c, len(tc.in), make([]byte, bufSize))
					if code != tc.code {
						t.Fatalf("code = %s, want %s", code, tc.code)
					}
					if code == "OK" && string(got) != tc.want {
						t.Fatalf("decoded %q, want %q", got, tc.want)
					}
					if code == "OK" && tc.trailer && len(tc.declared) > 0 && c.Trailer().Get(tc.declared[0]) == "" {
						t.Fatalf("trailer %v lacks %s", c.Trailer(), tc.declared[0])
					}
					if code != "OK" && c.Trailer() != nil {
						t.Fatal("trailer exposed after an error")
					}
					// Errors are sticky.
					if _, err := c.Read(make([]byte, 8)); (err == io.EOF) != (code == "OK") {
						t.Fatalf("second read after %s: %v", code, err)
					}
				})
			}
		}
	}
}

// errReader fails with a transport error after its data.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestChunkedReaderPropagatesTransportErrors(t *testing.T) {
	tooLarge := &http.MaxBytesError{Limit: 10}
	c := newChunkedReader(&errReader{data: []byte("5\r\nhel"), err: tooLarge}, nil, false, nil, -1)
	_, err := io.ReadAll(c)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) || isSigv4Error(err) {
		t.Fatalf("err = %v, want the transport error", err)
	}
}

func TestSHA256BodyMismatchAtEOF(t *testing.T) {
	body := []byte("payload bytes")
	for _, tc := range []struct {
		name string
		want string
		code string
	}{
		{"match", hexSHA256(body), "OK"},
		{"match upper-case hex", strings.ToUpper(hexSHA256(body)), "OK"},
		{"mismatch", hexSHA256([]byte("other")), CodeXAmzContentSHA256Mismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSHA256Body(io.NopCloser(iotest.OneByteReader(bytes.NewReader(body))), strings.ToLower(tc.want))
			got, err := io.ReadAll(r)
			code := "OK"
			var e *Error
			if errors.As(err, &e) {
				code = e.Code()
			} else if err != nil {
				code = err.Error()
			}
			if code != tc.code {
				t.Fatalf("code = %s, want %s", code, tc.code)
			}
			if code == "OK" && !bytes.Equal(got, body) {
				t.Fatalf("got %q", got)
			}
		})
	}
}

// TestChunkedReaderMessages checks the client messages Amazon S3 uses
// for the two kinds of IncompleteBody.
func TestChunkedReaderMessages(t *testing.T) {
	tests := []struct {
		name, in string
		expect   int64
		msg      string
	}{
		{"framing", "5\nhello\r\n0\r\n\r\n", 5, msgBodyTerminated},
		{"past declared, no CRLF", "B\r\ndummy data\r\n0\r\n\r\n", 10, msgBodyTerminated},
		{"past declared", "b\r\nabcdefghijk\r\n0\r\n\r\n", 5, msgLengthMismatch},
		{"short of declared", "5\r\nhello\r\n0\r\n\r\n", 6, msgLengthMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newChunkedReader(strings.NewReader(tc.in), nil, false, nil, tc.expect)
			out, err := io.ReadAll(c)
			var e *Error
			if !errors.As(err, &e) || e.Message() != tc.msg {
				t.Fatalf("err = %v, want message %q", err, tc.msg)
			}
			if int64(len(out)) > tc.expect {
				t.Fatalf("handed out %d bytes, more than the declared %d", len(out), tc.expect)
			}
		})
	}
}
