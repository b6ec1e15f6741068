package server

import (
	"net/http"
	"strings"
	"time"
)

// condResult is the outcome of evaluating conditional request headers.
type condResult int

const (
	condProceed            condResult = iota // serve the request
	condNotModified                          // 304 Not Modified
	condPreconditionFailed                   // 412 PreconditionFailed
)

// conditions are the four conditional headers of a GET/HEAD, or the four
// x-amz-copy-source-if-* headers of a copy.
type conditions struct {
	IfMatch           string
	IfNoneMatch       string
	IfModifiedSince   string
	IfUnmodifiedSince string
}

func requestConditions(h http.Header) conditions {
	return conditions{
		IfMatch:           h.Get("If-Match"),
		IfNoneMatch:       h.Get("If-None-Match"),
		IfModifiedSince:   h.Get("If-Modified-Since"),
		IfUnmodifiedSince: h.Get("If-Unmodified-Since"),
	}
}

func copySourceConditions(h http.Header) conditions {
	return conditions{
		IfMatch:           h.Get("X-Amz-Copy-Source-If-Match"),
		IfNoneMatch:       h.Get("X-Amz-Copy-Source-If-None-Match"),
		IfModifiedSince:   h.Get("X-Amz-Copy-Source-If-Modified-Since"),
		IfUnmodifiedSince: h.Get("X-Amz-Copy-Source-If-Unmodified-Since"),
	}
}

// evaluate applies S3's precedence rules (those of RFC 7232 section 6):
//   - If-Match, when present, decides the 412 case and If-Unmodified-Since
//     is then ignored; otherwise a failed If-Unmodified-Since is 412.
//   - If-None-Match, when present, decides the 304 case and
//     If-Modified-Since is then ignored; otherwise a failed
//     If-Modified-Since is 304.
//
// Unparseable dates are ignored, as in S3. etag is the object's ETag with
// or without quotes; lastModified is compared at one-second resolution.
func (c conditions) evaluate(etag string, lastModified time.Time) condResult {
	lm := lastModified.UTC().Truncate(time.Second)
	if c.IfMatch != "" {
		if !etagListMatches(c.IfMatch, etag) {
			return condPreconditionFailed
		}
	} else if t, ok := parseHTTPTime(c.IfUnmodifiedSince); ok && lm.After(t) {
		return condPreconditionFailed
	}
	if c.IfNoneMatch != "" {
		if etagListMatches(c.IfNoneMatch, etag) {
			return condNotModified
		}
	} else if t, ok := parseHTTPTime(c.IfModifiedSince); ok && !lm.After(t) {
		return condNotModified
	}
	return condProceed
}

// evaluateCopy applies the copy-source rules, where every failed condition
// is 412 PreconditionFailed.
func (c conditions) evaluateCopy(etag string, lastModified time.Time) condResult {
	if c.evaluate(etag, lastModified) != condProceed {
		return condPreconditionFailed
	}
	return condProceed
}

func parseHTTPTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(s)
	if err != nil {
		if t2, err2 := time.Parse(time.RFC3339, s); err2 == nil {
			return t2.UTC(), true
		}
		return time.Time{}, false
	}
	return t.UTC(), true
}

// etagListMatches reports whether the comma-separated entity-tag list in h
// contains etag or "*". Weak prefixes and quotes are ignored.
func etagListMatches(h, etag string) bool {
	want := trimETag(etag)
	for part := range strings.SplitSeq(h, ",") {
		p := strings.TrimSpace(part)
		if p == "*" {
			return true
		}
		if trimETag(p) == want {
			return true
		}
	}
	return false
}

func trimETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, "\"")
}
