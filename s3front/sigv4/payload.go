package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
)

// PayloadMode says how the request body is protected, from
// x-amz-content-sha256 (or the presigned X-Amz-Content-Sha256).
type PayloadMode string

// Payload modes. The values of the streaming and unsigned modes are the
// x-amz-content-sha256 values that select them.
const (
	// PayloadSHA256: x-amz-content-sha256 is the hex SHA-256 of the body;
	// the body reader fails with XAmzContentSHA256Mismatch at EOF if not.
	PayloadSHA256 PayloadMode = "SHA256"
	// PayloadUnsigned: the body is not covered by the signature.
	PayloadUnsigned PayloadMode = payloadUnsigned
	// PayloadStreamingSigned: aws-chunked body, every chunk signed.
	PayloadStreamingSigned PayloadMode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// PayloadStreamingUnsignedTrailer: aws-chunked body, chunks unsigned,
	// trailing headers (typically a checksum) after the last chunk.
	PayloadStreamingUnsignedTrailer PayloadMode = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	// PayloadStreamingSignedTrailer: aws-chunked body, every chunk and the
	// trailing headers signed.
	PayloadStreamingSignedTrailer PayloadMode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
)

const payloadUnsigned = "UNSIGNED-PAYLOAD"

// Streaming reports whether the body is aws-chunked encoded.
func (m PayloadMode) Streaming() bool {
	switch m {
	case PayloadStreamingSigned, PayloadStreamingUnsignedTrailer, PayloadStreamingSignedTrailer:
		return true
	}
	return false
}

// Trailer reports whether the body ends with trailing headers.
func (m PayloadMode) Trailer() bool {
	return m == PayloadStreamingUnsignedTrailer || m == PayloadStreamingSignedTrailer
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if _, ok := unhex(s[i]); !ok {
			return false
		}
	}
	return true
}

// parsePayloadMode classifies an x-amz-content-sha256 value.
func parsePayloadMode(v string) (PayloadMode, bool) {
	switch PayloadMode(v) {
	case PayloadUnsigned, PayloadStreamingSigned, PayloadStreamingUnsignedTrailer, PayloadStreamingSignedTrailer:
		return PayloadMode(v), true
	}
	if isHexSHA256(v) {
		return PayloadSHA256, true
	}
	return "", false
}

var errIncompleteBody = newError(CodeIncompleteBody,
	"You did not provide the number of bytes specified by the Content-Length HTTP header.", nil)

// mapBodyError turns a truncated body into IncompleteBody and keeps any
// other error (a network failure, *http.MaxBytesError, ...) as is, wrapped.
func mapBodyError(err error) error {
	switch {
	case err == nil || err == io.EOF:
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newError(CodeIncompleteBody, errIncompleteBody.msg, err)
	}
	return err
}

// plainBody passes the body through, mapping a truncated body to
// IncompleteBody.
type plainBody struct {
	rc io.ReadCloser
}

func (b plainBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	return n, mapBodyError(err)
}

func (b plainBody) Close() error { return b.rc.Close() }

// sha256Body passes the body through while hashing it and, at EOF, fails
// with XAmzContentSHA256Mismatch instead of io.EOF when the digest differs
// from the declared one. Errors are sticky.
type sha256Body struct {
	rc      io.ReadCloser
	h       hash.Hash
	want    []byte
	wantHex string
	err     error
}

// newSHA256Body wraps rc; wantHex must be a valid hex SHA-256.
func newSHA256Body(rc io.ReadCloser, wantHex string) *sha256Body {
	want, _ := hex.DecodeString(wantHex)
	return &sha256Body{rc: rc, h: sha256.New(), want: want, wantHex: wantHex}
}

var errContentSHA256Mismatch = newError(CodeXAmzContentSHA256Mismatch,
	"The provided 'x-amz-content-sha256' header does not match what was computed.", nil)

// contentSHA256Mismatch is XAmzContentSHA256Mismatch with both digests in
// the body, as Amazon S3 sends them.
func contentSHA256Mismatch(client, computed string) *Error {
	return errContentSHA256Mismatch.withFields("ClientComputedContentSHA256", client, "S3ComputedContentSHA256", computed)
}

func (b *sha256Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	b.h.Write(p[:n])
	switch {
	case err == io.EOF:
		var sum [sha256.Size]byte
		got := b.h.Sum(sum[:0])
		if subtle.ConstantTimeCompare(got, b.want) != 1 {
			b.err = contentSHA256Mismatch(b.wantHex, hex.EncodeToString(got))
			return n, b.err
		}
		b.err = io.EOF
	case err != nil:
		b.err = mapBodyError(err)
		return n, b.err
	}
	return n, err
}

func (b *sha256Body) Close() error { return b.rc.Close() }
