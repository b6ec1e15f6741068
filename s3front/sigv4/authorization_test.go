package sigv4

import (
	"strings"
	"testing"
)

const validSig = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"

var authorizationCases = []struct {
	name   string
	header string
	code   string // "" when valid
	ak     string
	signed []string
}{
	{name: "sdk form", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=" + validSig,
		ak: "AKID", signed: []string{"host", "range", "x-amz-date"}},
	{name: "no spaces", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=" + validSig,
		ak: "AKID", signed: []string{"host"}},
	{name: "extra spaces", header: "AWS4-HMAC-SHA256   Credential=AKID/20130524/us-east-1/s3/aws4_request ,  SignedHeaders=host;x-amz-date ,Signature=" + validSig,
		ak: "AKID", signed: []string{"host", "x-amz-date"}},
	{name: "access key with slash", header: "AWS4-HMAC-SHA256 Credential=AK/ID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + validSig,
		ak: "AK/ID", signed: []string{"host"}},
	{name: "upper-case signed header", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=Host;X-Amz-Date, Signature=" + validSig,
		ak: "AKID", signed: []string{"host", "x-amz-date"}},
	{name: "sigv2", header: "AWS AKID:signature", code: CodeInvalidRequest},
	{name: "sigv4a", header: "AWS4-ECDSA-P256-SHA256 Credential=x", code: CodeInvalidRequest},
	{name: "unknown algorithm", header: "Bearer token", code: CodeInvalidArgument},
	{name: "no space", header: "invalid_header", code: CodeInvalidArgument},
	{name: "empty", header: "", code: CodeInvalidArgument},
	{name: "algorithm only", header: "AWS4-HMAC-SHA256", code: CodeAuthorizationHeaderMalformed},
	{name: "missing signature", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host", code: CodeAuthorizationHeaderMalformed},
	{name: "duplicate credential", header: "AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request, Credential=A/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "unknown component", header: "AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + validSig + ", Foo=bar", code: CodeAuthorizationHeaderMalformed},
	{name: "component without =", header: "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "short credential", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3, SignedHeaders=host, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "bad terminator", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws5_request, SignedHeaders=host, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "bad date", header: "AWS4-HMAC-SHA256 Credential=AKID/20131324/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "empty region", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524//s3/aws4_request, SignedHeaders=host, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "empty access key", header: "AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "host not signed", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "empty signed header", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;;x, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "repeated signed header", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;Host, Signature=" + validSig, code: CodeAuthorizationHeaderMalformed},
	{name: "short signature", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc", code: CodeAuthorizationHeaderMalformed},
	{name: "non-hex signature", header: "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("g", 64), code: CodeAuthorizationHeaderMalformed},
}

func TestParseAuthorization(t *testing.T) {
	for _, tc := range authorizationCases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseAuthorization(tc.header)
			if tc.code != "" {
				if err == nil || err.Code() != tc.code {
					t.Fatalf("err = %v, want code %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if a.Credential.AccessKey != tc.ak || strings.Join(a.SignedHeaders.Names, ";") != strings.Join(tc.signed, ";") ||
				len(a.Signature) != 32 || a.Credential.Date != "20130524" || a.Credential.Region != "us-east-1" {
				t.Fatalf("parsed %+v", a)
			}
		})
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ raw, skip, want string }{
		{"", "", ""},
		{"b=2&a=1", "", "a=1&b=2"},
		{"a=2&a=1&a=10", "", "a=1&a=10&a=2"},
		{"uploads", "", "uploads="},
		{"prefix=a+b&x=%2f", "", "prefix=a%20b&x=%2F"},
		{"k=~-._&j=!*'()", "", "j=%21%2A%27%28%29&k=~-._"},
		{"bad=%zz", "", "bad=%25zz"},
		{"a=1&&b=2&", "", "a=1&b=2"},
		{"X-Amz-Signature=abc&x=1", "X-Amz-Signature", "x=1"},
		{"%C3%A9=%E6%97%A5", "", "%C3%A9=%E6%97%A5"},
	}
	for _, tc := range tests {
		if got := canonicalQuery(tc.raw, tc.skip); got != tc.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestCanonicalURIs(t *testing.T) {
	tests := []struct{ path, primary, alternate string }{
		{"", "/", ""},
		{"/", "/", ""},
		{"/bucket/a%20b", "/bucket/a%20b", ""},
		{"/bucket//x/../y/.", "/bucket//x/../y/.", ""},
		{"/bucket/a!b", "/bucket/a!b", "/bucket/a%21b"},
		{"/bucket/%7Etilde", "/bucket/%7Etilde", "/bucket/~tilde"},
		{"/bucket/a%2Fb!", "/bucket/a%2Fb!", ""},
		{"/bucket/%2e%2E", "/bucket/%2e%2E", "/bucket/.."},
		{"/bucket/bad%zz", "/bucket/bad%zz", ""},
	}
	for _, tc := range tests {
		p, a := canonicalURIs(tc.path)
		if p != tc.primary || a != tc.alternate {
			t.Errorf("canonicalURIs(%q) = %q, %q; want %q, %q", tc.path, p, a, tc.primary, tc.alternate)
		}
	}
}

func TestCanonicalHeaderValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"  lead and trail  ", "lead and trail"},
		{"a   b    c", "a b c"},
		{"\ttab\t", "tab"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := canonicalHeaderValue(tc.in); got != tc.want {
			t.Errorf("canonicalHeaderValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStripAWSChunked(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"aws-chunked"}, ""},
		{[]string{"aws-chunked,gzip"}, "gzip"},
		{[]string{"gzip, AWS-CHUNKED", "br"}, "gzip,br"},
	}
	for _, tc := range tests {
		if got := stripAWSChunked(tc.in); got != tc.want {
			t.Errorf("stripAWSChunked(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestParseAuthorizationManySignedHeaders feeds a header as large as Go's
// server allows: duplicate detection must stay O(n log n).
func TestParseAuthorizationManySignedHeaders(t *testing.T) {
	var b strings.Builder
	b.WriteString("host")
	for i := 0; b.Len() < 900_000; i++ {
		b.WriteString(";x-h")
		b.WriteString(strings.Repeat("a", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strings.Repeat("b", i/182))
	}
	b.WriteString(";host")
	h := "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=" + b.String() + ", Signature=" + validSig
	if _, err := parseAuthorization(h); err == nil || err.Code() != CodeAuthorizationHeaderMalformed {
		t.Fatalf("err = %v, want AuthorizationHeaderMalformed for the repeated host", err)
	}
}
