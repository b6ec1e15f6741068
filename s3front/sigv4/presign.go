package sigv4

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Presigned URL query parameters.
const (
	queryAlgorithm     = "X-Amz-Algorithm"
	queryCredential    = "X-Amz-Credential"
	queryDate          = "X-Amz-Date"
	queryExpires       = "X-Amz-Expires"
	querySignedHeaders = "X-Amz-SignedHeaders"
	querySignature     = "X-Amz-Signature"
	queryContentSHA256 = "X-Amz-Content-Sha256"
	// MaxPresignExpires is the longest X-Amz-Expires S3 accepts: one week.
	MaxPresignExpires = 604800
)

// presigned is a parsed set of presigned URL parameters.
type presigned struct {
	Credential    credential
	Date          time.Time
	Expires       time.Duration
	SignedHeaders signedHeaderList
	Signature     []byte
	// PayloadHash is X-Amz-Content-Sha256 when given, else UNSIGNED-PAYLOAD.
	PayloadHash string
}

// hasPresignParams reports whether rawQuery carries SigV4 query
// authentication.
func hasPresignParams(rawQuery string) bool {
	return strings.Contains(rawQuery, queryAlgorithm+"=") ||
		strings.Contains(rawQuery, queryCredential+"=") ||
		strings.Contains(rawQuery, querySignature+"=")
}

// hasPresignV2Params reports whether rawQuery carries SigV2 query
// authentication, which is not supported.
func hasPresignV2Params(rawQuery string) bool {
	return strings.Contains(rawQuery, "AWSAccessKeyId=") && strings.Contains(rawQuery, "Signature=")
}

func queryParamsError(msg string) *Error {
	return newError(CodeAuthorizationQueryParametersError, msg, nil)
}

// parsePresigned parses the SigV4 query authentication parameters of
// rawQuery. Every required parameter must appear exactly once.
// X-Amz-Security-Token is not parsed here (Verify refuses it). It returns an *Error with code
// AuthorizationQueryParametersError (or InvalidArgument for a bad
// X-Amz-Content-Sha256).
func parsePresigned(rawQuery string) (presigned, *Error) {
	q, _ := url.ParseQuery(rawQuery) // malformed pairs are dropped; the signature covers them
	get := func(name string) (string, bool, *Error) {
		v := q[name]
		switch len(v) {
		case 0:
			return "", false, nil
		case 1:
			return v[0], true, nil
		}
		return "", false, queryParamsError(name + " must appear only once.")
	}
	var vals [6]string
	for i, name := range [...]string{queryAlgorithm, queryCredential, queryDate, queryExpires, querySignedHeaders, querySignature} {
		v, ok, err := get(name)
		if err != nil {
			return presigned{}, err
		}
		if !ok {
			return presigned{}, queryParamsError("Query-string authentication version 4 requires the X-Amz-Algorithm, " +
				"X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
		vals[i] = v
	}
	alg, credStr, dateStr, expStr, signedStr, sigStr := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
	if alg != algorithm {
		return presigned{}, queryParamsError(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	var p presigned
	c, msg, ok := parseCredential(credStr)
	if !ok {
		return presigned{}, queryParamsError("Error parsing the X-Amz-Credential parameter; " + msg)
	}
	p.Credential = c
	t, err := time.Parse(amzDateFormat, dateStr)
	if err != nil {
		return presigned{}, queryParamsError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	p.Date = t
	exp, err := strconv.ParseInt(expStr, 10, 64)
	switch {
	case err != nil && !isDecimal(expStr):
		return presigned{}, queryParamsError("X-Amz-Expires should be a number")
	case err != nil || exp > MaxPresignExpires:
		return presigned{}, queryParamsError("X-Amz-Expires must be less than a week (in seconds) that is 604800")
	case exp < 0:
		return presigned{}, queryParamsError("X-Amz-Expires must be non-negative")
	case exp < 1:
		return presigned{}, queryParamsError("X-Amz-Expires must be at least 1 second")
	}
	p.Expires = time.Duration(exp) * time.Second
	sh, msg, ok := parseSignedHeaders(signedStr)
	if !ok {
		return presigned{}, queryParamsError("Error parsing the X-Amz-SignedHeaders parameter; " + msg)
	}
	p.SignedHeaders = sh
	sig, ok := parseSignature(sigStr)
	if !ok {
		return presigned{}, queryParamsError("X-Amz-Signature must be 64 hexadecimal characters")
	}
	p.Signature = sig
	p.PayloadHash = payloadUnsigned
	if v, ok, e := get(queryContentSHA256); e != nil {
		return presigned{}, e
	} else if ok {
		if v != payloadUnsigned && !isHexSHA256(v) {
			return presigned{}, newError(CodeInvalidArgument,
				"X-Amz-Content-Sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.", nil)
		}
		p.PayloadHash = v
	}
	return p, nil
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
