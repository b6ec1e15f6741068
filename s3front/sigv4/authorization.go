package sigv4

import (
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// credential is the parsed Credential component of the Authorization header
// or the X-Amz-Credential query parameter:
// <access key>/<yyyymmdd>/<region>/<service>/aws4_request.
type credential struct {
	AccessKey string
	Date      string
	Region    string
	Service   string
}

// Scope returns "<date>/<region>/<service>/aws4_request".
func (c credential) Scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/" + scopeTerminator
}

// String returns the credential in wire form.
func (c credential) String() string { return c.AccessKey + "/" + c.Scope() }

const credentialFormatMsg = `the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`

// parseCredential parses a credential. The access key is everything before
// the last four '/'-separated fields, so it may itself contain '/'. It
// checks the form only (date syntax, terminator, non-empty fields); the
// service and region are checked by the verifier.
func parseCredential(s string) (credential, string, bool) {
	parts := strings.Split(s, "/")
	if len(parts) < 5 {
		return credential{}, credentialFormatMsg, false
	}
	n := len(parts)
	c := credential{
		AccessKey: strings.Join(parts[:n-4], "/"),
		Date:      parts[n-4],
		Region:    parts[n-3],
		Service:   parts[n-2],
	}
	if c.AccessKey == "" || c.Region == "" || c.Service == "" || parts[n-1] != scopeTerminator {
		return credential{}, credentialFormatMsg, false
	}
	if len(c.Date) != 8 {
		return credential{}, "Invalid credential date. Date is not in YYYYMMDD format.", false
	}
	if _, err := time.Parse(scopeDateFormat, c.Date); err != nil {
		return credential{}, "Invalid credential date. Date is not in YYYYMMDD format.", false
	}
	return c, "", true
}

// signedHeaderList is a parsed SignedHeaders value.
type signedHeaderList struct {
	Raw   string   // as sent; it goes verbatim into the canonical request
	Names []string // lower-case names, in the order sent
}

func isTokenChar(c byte) bool {
	// RFC 9110 tchar
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// parseSignedHeaders parses "h1;h2;...": every name must be a valid header
// token, none repeated, and host must be among them.
func parseSignedHeaders(s string) (signedHeaderList, string, bool) {
	if s == "" {
		return signedHeaderList{}, "SignedHeaders is empty", false
	}
	names := strings.Split(s, ";")
	host := false
	for i, n := range names {
		if !isToken(n) {
			return signedHeaderList{}, "SignedHeaders contains an invalid header name", false
		}
		names[i] = strings.ToLower(n)
		if names[i] == "host" {
			host = true
		}
	}
	// Sorted copy: duplicates are adjacent (O(n log n) whatever the client sends).
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return signedHeaderList{}, "SignedHeaders contains a header twice", false
		}
	}
	if !host {
		return signedHeaderList{}, "SignedHeaders must include host", false
	}
	return signedHeaderList{Raw: s, Names: names}, "", true
}

// parseSignature decodes a 64-hex-digit signature.
func parseSignature(s string) ([]byte, bool) {
	if len(s) != 64 {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// authorization is a parsed "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." header.
type authorization struct {
	Credential    credential
	SignedHeaders signedHeaderList
	Signature     []byte
}

const unsupportedAuthMsg = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."

// parseAuthorization parses an Authorization header value. Components may
// be separated by ',' with any spaces around them; each of Credential,
// SignedHeaders and Signature must appear exactly once. It returns an
// *Error with code AuthorizationHeaderMalformed, or InvalidRequest for
// other signature versions (SigV2 "AWS ", SigV4a).
func parseAuthorization(v string) (authorization, *Error) {
	alg, rest, hasSpace := strings.Cut(strings.TrimLeft(v, " "), " ")
	switch {
	case alg == algorithm:
	case alg == "AWS" || alg == "AWS4-ECDSA-P256-SHA256":
		return authorization{}, newError(CodeInvalidRequest, unsupportedAuthMsg, nil)
	case !hasSpace:
		// Amazon S3's answer to a header that is not "<scheme> <params>".
		return authorization{}, newError(CodeInvalidArgument,
			"Authorization header is invalid -- one and only one ' ' (space) required.", nil).
			withFields("ArgumentName", "Authorization", "ArgumentValue", truncateForMsg(v))
	default:
		return authorization{}, newError(CodeInvalidArgument, "Unsupported Authorization Type", nil).
			withFields("ArgumentName", "Authorization", "ArgumentValue", truncateForMsg(alg))
	}
	malformed := func(msg string) *Error {
		return newError(CodeAuthorizationHeaderMalformed, "The authorization header is malformed; "+msg, nil)
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.Trim(part, " ")
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return authorization{}, malformed("the authorization component \"" + truncateForMsg(part) + "\" is malformed.")
		}
		switch key {
		case "Credential":
			if haveCred {
				return authorization{}, malformed("Credential appears twice.")
			}
			cred, haveCred = val, true
		case "SignedHeaders":
			if haveSigned {
				return authorization{}, malformed("SignedHeaders appears twice.")
			}
			signed, haveSigned = val, true
		case "Signature":
			if haveSig {
				return authorization{}, malformed("Signature appears twice.")
			}
			sig, haveSig = val, true
		default:
			return authorization{}, malformed("the authorization component \"" + truncateForMsg(key) + "\" is not supported.")
		}
	}
	if !haveCred || !haveSigned || !haveSig {
		return authorization{}, malformed("Credential, SignedHeaders and Signature are required.")
	}
	c, msg, ok := parseCredential(cred)
	if !ok {
		return authorization{}, malformed(msg)
	}
	sh, msg, ok := parseSignedHeaders(signed)
	if !ok {
		return authorization{}, malformed(msg + ".")
	}
	s, ok := parseSignature(sig)
	if !ok {
		return authorization{}, malformed("the Signature must be 64 hexadecimal characters.")
	}
	return authorization{Credential: c, SignedHeaders: sh, Signature: s}, nil
}

// truncateForMsg bounds client-provided text echoed in an error message.
func truncateForMsg(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
