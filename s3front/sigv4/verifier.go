package sigv4

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxSkew is the clock skew Verifier accepts when MaxSkew is zero,
// as Amazon S3 does.
const DefaultMaxSkew = 15 * time.Minute

// Verifier verifies SigV4-signed S3 requests. The zero value of the
// optional fields is usable; Credentials is required. A Verifier is safe
// for concurrent use and must not be copied after first use (it caches
// derived signing keys).
type Verifier struct {
	// Region is the region requests must be signed for. Empty accepts any
	// region.
	Region string
	// Credentials resolves access keys to secrets. Required.
	Credentials Credentials
	// MaxSkew is the largest difference allowed between the request time
	// and Now; zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	keys keyCache
}

// Result describes a verified request.
type Result struct {
	// AccessKey is the access key that signed the request.
	AccessKey string
	// Principal is the identity Credentials returned for AccessKey.
	Principal string
	// Region is the region of the credential scope.
	Region string
	// Time is the signing time (x-amz-date, Date or X-Amz-Date).
	Time time.Time
	// Presigned is set for query-string (presigned URL) authentication.
	Presigned bool
	// Expires is the end of a presigned URL's validity; zero otherwise.
	Expires time.Time
	// PayloadMode says how the body is protected.
	PayloadMode PayloadMode
	// ContentSHA256 is the declared hex SHA-256 of the body when
	// PayloadMode is PayloadSHA256.
	ContentSHA256 string
	// DecodedContentLength is the number of object bytes the body yields:
	// x-amz-decoded-content-length for aws-chunked bodies, Content-Length
	// otherwise; -1 when unknown.
	DecodedContentLength int64
	// ContentEncoding is the Content-Encoding header with the aws-chunked
	// coding removed: the encoding to store with the object.
	ContentEncoding string
	// DeclaredTrailers are the lower-case header names x-amz-trailer
	// announced, for trailer payload modes.
	DeclaredTrailers []string

	body *chunkedReader
}

// Trailer returns the trailing headers of an aws-chunked body (for example
// X-Amz-Checksum-Crc32) once the body returned by Verify has been read to
// io.EOF; before that, on error, or for other payload modes it returns nil.
// The caller verifies the checksum the trailer names.
func (r Result) Trailer() http.Header {
	if r.body == nil {
		return nil
	}
	return r.body.Trailer()
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// Verify authenticates r and returns the body to read the object bytes
// from, already wrapped with the decoder or digest check its payload mode
// needs; the caller reads it instead of r.Body and closes it. A body read
// error that is an *Error (XAmzContentSHA256Mismatch, SignatureDoesNotMatch,
// IncompleteBody wrapping ErrMalformedChunk, MalformedTrailerError,
// InvalidChunkSizeError) means the upload must be discarded; bytes read
// before it are not trustworthy.
//
// Errors (all *Error unless noted; on error the body is nil):
//   - ErrAnonymous: no Authorization header and no presigned parameters;
//   - InvalidToken: an X-Amz-Security-Token (only permanent keys exist);
//   - InvalidArgument: both forms present, a bad x-amz-content-sha256, an
//     Authorization header of an unknown scheme or without a space;
//   - InvalidRequest: another signature version (SigV2, SigV4a);
//   - AuthorizationHeaderMalformed / AuthorizationQueryParametersError: a
//     malformed header or query, wrong service, wrong region, a credential
//     date other than the request date, host not signed;
//   - AccessDenied: missing or invalid date, x-amz-* headers not signed,
//     ErrExpired, a presigned URL not valid yet;
//   - RequestTimeTooSkewed: request time further than MaxSkew from Now;
//   - MissingSecurityHeader: no x-amz-content-sha256 with header auth;
//   - MissingContentLength: streaming without a valid
//     x-amz-decoded-content-length;
//   - InvalidAccessKeyId: Credentials returned ErrUnknownAccessKey;
//   - SignatureDoesNotMatch: the signature is wrong;
//   - XAmzContentSHA256Mismatch: an empty body with another declared hash;
//   - any other Credentials error, wrapped (not an *Error).
func (v *Verifier) Verify(r *http.Request) (Result, io.ReadCloser, error) {
	path, rawQuery := requestTarget(r)
	authz := r.Header.Values("Authorization")
	presign := hasPresignParams(rawQuery)
	if (presign && strings.Contains(rawQuery, "X-Amz-Security-Token=")) || (len(authz) > 0 && r.Header.Get("X-Amz-Security-Token") != "") {
		// Only permanent keys exist here: a session token cannot be valid.
		return Result{}, nil, newError(CodeInvalidToken, "The provided token is malformed or otherwise invalid.", nil)
	}
	switch {
	case len(authz) > 0 && presign:
		return Result{}, nil, newError(CodeInvalidArgument,
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "+
				"Signature query string parameter or the Authorization header should be specified", nil)
	case len(authz) > 1:
		return Result{}, nil, newError(CodeAuthorizationHeaderMalformed,
			"The authorization header is malformed; it appears more than once.", nil)
	case len(authz) == 1:
		return v.verifyHeader(r, authz[0], path, rawQuery)
	case presign:
		return v.verifyPresigned(r, path, rawQuery)
	case hasPresignV2Params(rawQuery):
		return Result{}, nil, newError(CodeInvalidRequest, unsupportedAuthMsg, nil)
	}
	return Result{}, nil, ErrAnonymous
}

// requestTime reads x-amz-date (ISO 8601 basic) or, without it, Date.
func requestTime(r *http.Request) (time.Time, bool) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(amzDateFormat, v)
		return t, err == nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		return t.UTC(), err == nil
	}
	return time.Time{}, false
}

// checkScope checks the credential's service and region.
func (v *Verifier) checkScope(c credential, code string) *Error {
	if c.Service != serviceS3 {
		return newError(code, fmt.Sprintf("Error parsing the Credential; incorrect service %q. This endpoint belongs to \"s3\".",
			truncateForMsg(c.Service)), nil)
	}
	if v.Region != "" && c.Region != v.Region {
		return newError(code, fmt.Sprintf("the region '%s' is wrong; expecting '%s'", truncateForMsg(c.Region), v.Region), nil)
	}
	return nil
}

// checkUnsignedAmzHeaders fails when an x-amz-* header (other than
// x-amz-content-sha256 and x-amz-date, which the signature covers anyway)
// is present but not signed, as S3 does.
func checkUnsignedAmzHeaders(r *http.Request, signed []string) *Error {
	var set map[string]struct{}
	var unsigned []string
	for name := range r.Header {
		if len(name) < 6 || !strings.EqualFold(name[:6], "x-amz-") {
			continue
		}
		lower := strings.ToLower(name)
		if lower == "x-amz-content-sha256" || lower == "x-amz-date" {
			continue
		}
		if set == nil {
			set = make(map[string]struct{}, len(signed))
			for _, s := range signed {
				set[s] = struct{}{}
			}
		}
		if _, ok := set[lower]; !ok {
			unsigned = append(unsigned, truncateForMsg(lower))
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	slices.Sort(unsigned)
	if len(unsigned) > 8 {
		unsigned = unsigned[:8]
	}
	return newError(CodeAccessDenied, "There were headers present in the request which were not signed", nil).
		withFields("HeadersNotSigned", strings.Join(unsigned, ", "))
}

// lookup resolves the access key.
func (v *Verifier) lookup(r *http.Request, accessKey string) (secret, principal string, err error) {
	if v.Credentials == nil {
		return "", "", errors.New("sigv4: Verifier.Credentials is nil")
	}
	secret, principal, err = v.Credentials.Lookup(r.Context(), accessKey)
	switch {
	case errors.Is(err, ErrUnknownAccessKey):
		return "", "", newError(CodeInvalidAccessKeyID,
			"The AWS Access Key Id you provided does not exist in our records.", err).withFields("AWSAccessKeyId", accessKey)
	case err != nil:
		return "", "", fmt.Errorf("sigv4: looking up access key: %w", err)
	}
	return secret, principal, nil
}

// checkSignature computes the request signature over each canonical URI
// candidate and compares it with sig in constant time.
func checkSignature(r *http.Request, key []byte, amzDate, scope, path, rawQuery, skipQuery string,
	signed signedHeaderList, payloadHash string, sig []byte) bool {
	var hb strings.Builder
	writeCanonicalHeaders(&hb, r, signed.Names)
	headers := hb.String()
	query := canonicalQuery(rawQuery, skipQuery)
	primary, alternate := canonicalURIs(path)
	for _, uri := range [...]string{primary, alternate} {
		if uri == "" {
			continue
		}
		creq := canonicalRequest(r.Method, uri, query, headers, signed.Raw, payloadHash)
		if hmac.Equal(hmacSHA256(key, stringToSign(amzDate, scope, creq)), sig) {
			return true
		}
	}
	return false
}

var errSignatureMismatch = newError(CodeSignatureDoesNotMatch,
	"The request signature we calculated does not match the signature you provided. Check your key and signing method.", nil)

func (v *Verifier) verifyHeader(r *http.Request, header, path, rawQuery string) (Result, io.ReadCloser, error) {
	auth, perr := parseAuthorization(header)
	if perr != nil {
		return Result{}, nil, perr
	}
	t, ok := requestTime(r)
	if !ok {
		return Result{}, nil, newError(CodeAccessDenied, "AWS authentication requires a valid Date or x-amz-date header", nil)
	}
	if auth.Credential.Date != t.Format(scopeDateFormat) {
		return Result{}, nil, newError(CodeAuthorizationHeaderMalformed,
			"Invalid credential date. Date is not the same as X-Amz-Date.", nil)
	}
	if err := v.checkScope(auth.Credential, CodeAuthorizationHeaderMalformed); err != nil {
		return Result{}, nil, err
	}
	if d := v.now().Sub(t); d > v.maxSkew() || d < -v.maxSkew() {
		return Result{}, nil, newError(CodeRequestTimeTooSkewed,
			"The difference between the request time and the current time is too large.", nil)
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		return Result{}, nil, newError(CodeMissingSecurityHeader,
			"Your request was missing a required header: x-amz-content-sha256", nil)
	}
	mode, ok := parsePayloadMode(payloadHash)
	if !ok {
		return Result{}, nil, newError(CodeInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "+
			"STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "+
			"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.", nil).
			withFields("ArgumentName", "x-amz-content-sha256", "ArgumentValue", truncateForMsg(payloadHash))
	}
	if err := checkUnsignedAmzHeaders(r, auth.SignedHeaders.Names); err != nil {
		return Result{}, nil, err
	}
	secret, principal, err := v.lookup(r, auth.Credential.AccessKey)
	if err != nil {
		return Result{}, nil, err
	}
	key := v.keys.signingKey(auth.Credential.AccessKey, secret, auth.Credential.Date, auth.Credential.Region)
	amzDate := t.Format(amzDateFormat)
	scope := auth.Credential.Scope()
	if !checkSignature(r, key, amzDate, scope, path, rawQuery, "", auth.SignedHeaders, payloadHash, auth.Signature) {
		return Result{}, nil, errSignatureMismatch
	}
	res := Result{
		AccessKey:   auth.Credential.AccessKey,
		Principal:   principal,
		Region:      auth.Credential.Region,
		Time:        t,
		PayloadMode: mode,
	}
	signer := &chunkSigner{key: key, amzDate: amzDate, scope: scope}
	signer.prev = hex.EncodeToString(auth.Signature)
	body, err := v.wrapBody(r, &res, payloadHash, signer)
	if err != nil {
		return Result{}, nil, err
	}
	return res, body, nil
}

func (v *Verifier) verifyPresigned(r *http.Request, path, rawQuery string) (Result, io.ReadCloser, error) {
	p, perr := parsePresigned(rawQuery)
	if perr != nil {
		return Result{}, nil, perr
	}
	if p.Credential.Date != p.Date.Format(scopeDateFormat) {
		return Result{}, nil, queryParamsError("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if err := v.checkScope(p.Credential, CodeAuthorizationQueryParametersError); err != nil {
		return Result{}, nil, err
	}
	now := v.now()
	if p.Date.Sub(now) > v.maxSkew() {
		return Result{}, nil, newError(CodeAccessDenied, "Request is not valid yet", nil)
	}
	expires := p.Date.Add(p.Expires)
	if now.After(expires) {
		return Result{}, nil, ErrExpired
	}
	if err := checkUnsignedAmzHeaders(r, p.SignedHeaders.Names); err != nil {
		return Result{}, nil, err
	}
	secret, principal, err := v.lookup(r, p.Credential.AccessKey)
	if err != nil {
		return Result{}, nil, err
	}
	key := v.keys.signingKey(p.Credential.AccessKey, secret, p.Credential.Date, p.Credential.Region)
	amzDate := p.Date.Format(amzDateFormat)
	if !checkSignature(r, key, amzDate, p.Credential.Scope(), path, rawQuery, querySignature,
		p.SignedHeaders, p.PayloadHash, p.Signature) {
		return Result{}, nil, errSignatureMismatch
	}
	mode, _ := parsePayloadMode(p.PayloadHash)
	res := Result{
		AccessKey:   p.Credential.AccessKey,
		Principal:   principal,
		Region:      p.Credential.Region,
		Time:        p.Date,
		Presigned:   true,
		Expires:     expires,
		PayloadMode: mode,
	}
	body, err := v.wrapBody(r, &res, p.PayloadHash, nil)
	if err != nil {
		return Result{}, nil, err
	}
	return res, body, nil
}

// stripAWSChunked removes the aws-chunked coding from a Content-Encoding
// value.
func stripAWSChunked(values []string) string {
	var out []string
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.TrimSpace(c)
			if c == "" || strings.EqualFold(c, "aws-chunked") {
				continue
			}
			out = append(out, c)
		}
	}
	return strings.Join(out, ",")
}

// parseTrailerNames parses x-amz-trailer: comma-separated header names.
func parseTrailerNames(values []string) ([]string, bool) {
	var out []string
	for _, v := range values {
		for n := range strings.SplitSeq(v, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			if !isToken(n) || len(out) >= maxTrailers {
				return nil, false
			}
			out = append(out, strings.ToLower(n))
		}
	}
	return out, true
}

// wrapBody fills the payload fields of res and returns r's body wrapped for
// res.PayloadMode. signer is nil for presigned requests.
func (v *Verifier) wrapBody(r *http.Request, res *Result, payloadHash string, signer *chunkSigner) (io.ReadCloser, error) {
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	res.DecodedContentLength = r.ContentLength
	res.ContentEncoding = strings.Join(r.Header.Values("Content-Encoding"), ",")
	switch res.PayloadMode {
	case PayloadSHA256:
		res.ContentSHA256 = strings.ToLower(payloadHash)
		if r.ContentLength == 0 && res.ContentSHA256 != emptySHA256 {
			return nil, contentSHA256Mismatch(res.ContentSHA256, emptySHA256)
		}
		return newSHA256Body(body, res.ContentSHA256), nil
	case PayloadUnsigned:
		return plainBody{body}, nil
	}
	// aws-chunked modes.
	res.ContentEncoding = stripAWSChunked(r.Header.Values("Content-Encoding"))
	// Amazon S3 answers a missing or unparsable decoded length alike.
	expect, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || expect < 0 {
		return nil, newError(CodeMissingContentLength, msgMissingContentLength,
			errors.New("x-amz-decoded-content-length is missing or not a non-negative integer"))
	}
	res.DecodedContentLength = expect
	var declared []string
	if res.PayloadMode.Trailer() {
		names, ok := parseTrailerNames(r.Header.Values("X-Amz-Trailer"))
		if !ok {
			return nil, newError(CodeInvalidArgument, "x-amz-trailer is malformed", nil)
		}
		declared = names
		res.DeclaredTrailers = names
	}
	if res.PayloadMode == PayloadStreamingUnsignedTrailer {
		signer = nil
	}
	cr := newChunkedReader(body, signer, res.PayloadMode.Trailer(), declared, expect)
	res.body = cr
	return cr, nil
}
