package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const (
	algorithm        = "AWS4-HMAC-SHA256"
	algorithmPayload = "AWS4-HMAC-SHA256-PAYLOAD"
	algorithmTrailer = "AWS4-HMAC-SHA256-TRAILER"
	scopeTerminator  = "aws4_request"
	serviceS3        = "s3"
	amzDateFormat    = "20060102T150405Z"
	scopeDateFormat  = "20060102"
	// emptySHA256 is the hex SHA-256 of the empty string.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

const upperHex = "0123456789ABCDEF"

// isUnreserved reports whether c is an RFC 3986 unreserved character, the
// only characters SigV4's UriEncode leaves as they are.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// uriEncode is SigV4's UriEncode: every byte but the unreserved ones becomes
// %XX with upper-case hex; '/' is kept when keepSlash is set (object key
// paths) and encoded otherwise (query names and values).
func uriEncode(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isUnreserved(c) && !(keepSlash && c == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || keepSlash && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode decodes %XX escapes; with plusSpace, '+' becomes ' ' (query
// string semantics, as Go's url.ParseQuery and the AWS SDKs read it). It
// reports false on a malformed escape.
func percentDecode(s string, plusSpace bool) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && (!plusSpace || strings.IndexByte(s, '+') < 0) {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return "", false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			b = append(b, hi<<4|lo)
			i += 2
		case c == '+' && plusSpace:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

// requestTarget returns the escaped path and the raw query exactly as the
// client sent them: from r.RequestURI on the server side (so rewrites of
// r.URL by routers do not change what is verified), from r.URL otherwise.
func requestTarget(r *http.Request) (path, rawQuery string) {
	uri := r.RequestURI
	if uri == "" || uri == "*" {
		if r.URL == nil {
			return "/", ""
		}
		return r.URL.EscapedPath(), r.URL.RawQuery
	}
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	path, rawQuery, _ = strings.Cut(uri, "?")
	// absolute-form: scheme://authority/path
	if i := strings.Index(path, "://"); i >= 0 && !strings.HasPrefix(path, "/") {
		rest := path[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			path = rest[j:]
		} else {
			path = "/"
		}
	}
	return path, rawQuery
}

// canonicalURIs returns the canonical URI candidates of an escaped path.
// S3 neither normalizes the path nor encodes it twice, so the first
// candidate is the path exactly as sent. When decoding the path and
// encoding it again with UriEncode gives another string (the client sent
// characters such as '!' or '(' unescaped, or escaped unreserved ones), that
// is the second candidate: both name the same decoded object key. A path
// with an escaped '/' (%2F) gets no second candidate, since decoding it
// would change the path's segments.
func canonicalURIs(escapedPath string) (primary, alternate string) {
	if escapedPath == "" {
		return "/", ""
	}
	if strings.Contains(escapedPath, "%2F") || strings.Contains(escapedPath, "%2f") {
		return escapedPath, ""
	}
	dec, ok := percentDecode(escapedPath, false)
	if !ok {
		return escapedPath, ""
	}
	alt := uriEncode(dec, true)
	if alt == escapedPath {
		return escapedPath, ""
	}
	return escapedPath, alt
}

type queryPair struct{ name, value string }

// canonicalQuery builds the canonical query string of rawQuery: every
// parameter but skip (the presigned X-Amz-Signature), names and values
// decoded then UriEncoded, sorted by name then value, "name=value" joined
// by '&'. A parameter without '=' gets an empty value.
func canonicalQuery(rawQuery, skip string) string {
	if rawQuery == "" {
		return ""
	}
	pairs := make([]queryPair, 0, strings.Count(rawQuery, "&")+1)
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if dn, ok := percentDecode(name, true); ok {
			name = dn
		}
		if skip != "" && name == skip {
			continue
		}
		if dv, ok := percentDecode(value, true); ok {
			value = dv
		}
		pairs = append(pairs, queryPair{uriEncode(name, false), uriEncode(value, false)})
	}
	slices.SortFunc(pairs, func(a, b queryPair) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// canonicalHeaderValue trims spaces and tabs at both ends and collapses
// every run of spaces inside into one.
func canonicalHeaderValue(v string) string {
	v = strings.Trim(v, " \t")
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// headerValues returns the values of the lower-case header name as the
// client sent them. Go's server moves some headers out of r.Header; they
// are read back from their fields.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		if r.Host != "" {
			return []string{r.Host}
		}
		if r.URL != nil {
			return []string{r.URL.Host}
		}
		return nil
	}
	if v := r.Header.Values(name); len(v) > 0 {
		return v
	}
	switch name {
	case "content-length":
		if r.ContentLength > 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
	}
	return nil
}

// writeCanonicalHeaders appends "name:value\n" for every signed header, in
// the order of the signed header list.
func writeCanonicalHeaders(b *strings.Builder, r *http.Request, signed []string) {
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, name) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(canonicalHeaderValue(v))
		}
		b.WriteByte('\n')
	}
}

// canonicalRequest is the SigV4 canonical request: method, canonical URI,
// canonical query string, canonical headers, signed header list and hashed
// payload, separated by newlines.
func canonicalRequest(method, uri, query string, headers string, signedHeaders, payloadHash string) string {
	var b strings.Builder
	b.Grow(len(method) + len(uri) + len(query) + len(headers) + len(signedHeaders) + len(payloadHash) + 5)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	b.WriteString(headers)
	b.WriteByte('\n')
	b.WriteString(signedHeaders)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// stringToSign is "AWS4-HMAC-SHA256\n<amzDate>\n<scope>\n<hex sha256 of the
// canonical request>".
func stringToSign(amzDate, scope, creq string) string {
	sum := sha256.Sum256([]byte(creq))
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}
