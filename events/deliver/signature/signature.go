// Package signature signs and verifies the bodies of Sluice webhook and
// function deliveries.
//
// A target with a secret gets, on every request,
//
//	X-Sluice-Signature: sha256=<lower-case hex HMAC-SHA256(secret, body)>
//	X-Sluice-Timestamp: <Unix seconds when the attempt was sent>
//
// The signature covers the exact body bytes, whatever the format (the
// CloudEvents binary-mode record, the structured-mode event, or the AWS
// {"Records":[...]} document). Headers are not covered: receivers that need
// the event attributes authenticated use the structured or records format,
// where everything is in the body. A receiver verifies before it parses,
// over the raw bytes it read (VerifyRequest does both), and de-duplicates
// replays by the event id and the record's sequencer, as every
// at-least-once consumer must.
package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Header names and the signature scheme prefix.
const (
	// Header carries the body signature.
	Header = "X-Sluice-Signature"
	// TimestampHeader carries the send time of the attempt, in Unix
	// seconds (informational: it is not signed).
	TimestampHeader = "X-Sluice-Timestamp"
	// Scheme prefixes the hex signature.
	Scheme = "sha256="
)

// Sentinel errors returned by Verify and VerifyRequest.
var (
	// ErrMissing: the request has no signature header.
	ErrMissing = errors.New("signature: missing " + Header)
	// ErrMalformed: the header is not "sha256=<64 hex digits>" (a
	// comma-separated list of such values is accepted).
	ErrMalformed = errors.New("signature: malformed " + Header)
	// ErrMismatch: no signature matches the body under any given secret.
	ErrMismatch = errors.New("signature: signature does not match the body")
	// ErrNoSecret: Verify was called without a non-empty secret.
	ErrNoSecret = errors.New("signature: no secret to verify with")
	// ErrBodyTooLarge: VerifyRequest read more than its limit.
	ErrBodyTooLarge = errors.New("signature: body too large")
)

// Sign returns the header value for body: Scheme + hex HMAC-SHA256.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return Scheme + hex.EncodeToString(m.Sum(nil))
}

// Verify checks header (the X-Sluice-Signature value) against body. It
// accepts when one of the header's signatures matches under one of the
// secrets (several secrets allow rotation), comparing in constant time. It
// returns ErrNoSecret, ErrMissing, ErrMalformed or ErrMismatch.
func Verify(body []byte, header string, secrets ...[]byte) error {
	sigs, err := parse(header)
	if err != nil {
		return err
	}
	var keys [][]byte
	for _, s := range secrets {
		if len(s) > 0 {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return ErrNoSecret
	}
	for _, key := range keys {
		m := hmac.New(sha256.New, key)
		m.Write(body)
		want := m.Sum(nil)
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrMismatch
}

// parse splits a header value into its decoded signatures. It never
// panics; errors are ErrMissing or wrap ErrMalformed.
func parse(header string) ([][]byte, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return nil, ErrMissing
	}
	var out [][]byte
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		h, ok := strings.CutPrefix(part, Scheme)
		if !ok {
			return nil, fmt.Errorf("%w: value must start with %s", ErrMalformed, Scheme)
		}
		if len(h) != 2*sha256.Size {
			return nil, fmt.Errorf("%w: want %d hex digits", ErrMalformed, 2*sha256.Size)
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// VerifyRequest reads r's body (at most maxBody bytes; maxBody <= 0 means
// 1 MiB), verifies it with Verify, and on success replaces r.Body with a
// reader of the same bytes, so that a CloudEvents SDK or JSON decoder can
// read it next. It returns the body, and ErrBodyTooLarge, a read error, or
// Verify's errors.
func VerifyRequest(r *http.Request, maxBody int64, secrets ...[]byte) ([]byte, error) {
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return nil, fmt.Errorf("signature: read body: %w", err)
		}
		if int64(len(b)) > maxBody {
			return nil, ErrBodyTooLarge
		}
		body = b
	}
	if err := Verify(body, r.Header.Get(Header), secrets...); err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}
