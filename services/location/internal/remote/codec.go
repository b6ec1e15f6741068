package remote

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The RFC 2047 encoded word EncodeValue writes: base64 of UTF-8.
const (
	wordStart = "=?UTF-8?B?"
	wordEnd   = "?="
)

// EncodeValue returns a metadata value unchanged when object stores keep
// it as it is (printable ASCII without leading or trailing spaces, not
// starting with "=?"), and otherwise as an RFC 2047 encoded word, which is
// printable ASCII.
func EncodeValue(v string) string {
	plain := v != "" && v[0] != ' ' && v[len(v)-1] != ' ' && !strings.HasPrefix(v, "=?")
	for i := 0; plain && i < len(v); i++ {
		plain = v[i] >= 0x20 && v[i] < 0x7f
	}
	if plain {
		return v
	}
	return wordStart + base64.StdEncoding.EncodeToString([]byte(v)) + wordEnd
}

// DecodeValue reverses EncodeValue. It also decodes the other RFC 2047
// words a store may produce itself (AWS re-encodes non-ASCII values);
// anything it cannot decode is returned as stored.
func DecodeValue(v string) string {
	if !strings.HasPrefix(v, "=?") || !strings.HasSuffix(v, "?=") {
		return v
	}
	if b64, ok := strings.CutPrefix(v, wordStart); ok {
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(b64, wordEnd)); err == nil {
			return string(b)
		}
	}
	if s, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return s
	}
	return v
}

// TotalSize returns the complete length from a Content-Range header value
// "bytes first-last/complete"; an error for any other form.
func TotalSize(contentRange string) (int64, error) {
	i := strings.LastIndexByte(contentRange, '/')
	if i < 0 || !strings.HasPrefix(contentRange, "bytes ") {
		return 0, fmt.Errorf("malformed Content-Range %q", contentRange)
	}
	n, err := strconv.ParseInt(contentRange[i+1:], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("malformed Content-Range %q", contentRange)
	}
	return n, nil
}

// Storable returns the longest prefix of s that is valid UTF-8 without
// NUL: what a List prefix or start-after key can usefully send to a store.
func Storable(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && n <= 1) {
			return s[:i]
		}
		i += n
	}
	return s
}

// NewHTTPClient returns a client for one driver: no overall timeout
// (bodies stream for as long as they take), bounded dialing and header
// waits, and enough idle connections for concurrent part uploads. Close
// its idle connections when the driver closes.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
	}}
}
