package s3

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

var valueTests = []struct {
	value string
	plain bool // stored unchanged
}{
	{"blue", true},
	{"a value with spaces & symbols !#$%()*+,./:;<=>?@[]^_{|}~", true},
	{"", false},
	{" leading", false},
	{"trailing ", false},
	{"=?UTF-8?B?aGk=?=", false},
	{"=?", false},
	{"a =?x?= b", true},
	{"Zürich ☕", false},
	{"tab\there", false},
	{"\xff\xfe", false},
	{"nul\x00", false},
	{"del\x7f", false},
}

func TestValueCodec(t *testing.T) {
	for _, tc := range valueTests {
		enc := remote.EncodeValue(tc.value)
		if got := enc == tc.value; got != tc.plain {
			t.Errorf("remote.EncodeValue(%q) = %q; stored unchanged = %v, want %v", tc.value, enc, got, tc.plain)
		}
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] >= 0x7f {
				t.Errorf("remote.EncodeValue(%q) = %q holds a byte S3 would not keep", tc.value, enc)
			}
		}
		if dec := remote.DecodeValue(enc); dec != tc.value {
			t.Errorf("remote.DecodeValue(remote.EncodeValue(%q)) = %q", tc.value, dec)
		}
	}
	// Words a store produces itself (AWS re-encodes non-ASCII values).
	for stored, want := range map[string]string{
		"=?UTF-8?q?Z=C3=BCrich_=E2=98=95?=": "Zürich ☕",
		"=?utf-8?b?WsO8cmljaA==?=":          "Zürich",
		"=?UTF-8?B?not base64!?=":           "=?UTF-8?B?not base64!?=",
		"=?unknown?x?y?=":                   "=?unknown?x?y?=",
	} {
		if got := remote.DecodeValue(stored); got != want {
			t.Errorf("remote.DecodeValue(%q) = %q, want %q", stored, got, want)
		}
	}
}

func FuzzValueCodec(f *testing.F) {
	for _, tc := range valueTests {
		f.Add(tc.value)
	}
	f.Fuzz(func(t *testing.T, v string) {
		enc := remote.EncodeValue(v)
		if !utf8.ValidString(enc) || strings.TrimSpace(enc) != enc {
			t.Fatalf("remote.EncodeValue(%q) = %q: not a header value S3 keeps", v, enc)
		}
		if dec := remote.DecodeValue(enc); dec != v {
			t.Fatalf("round trip of %q via %q = %q", v, enc, dec)
		}
		remote.DecodeValue(v) // never panics on stored values
	})
}

var metadataTests = []struct {
	name    string
	user    map[string]string
	want    map[string]string // after a round trip; nil: user itself
	wantErr bool
}{
	{name: "none"},
	{name: "plain", user: map[string]string{"color": "blue", "owner-id": "42"}},
	{name: "upper case", user: map[string]string{"Color": "x"}, want: map[string]string{"color": "x"}},
	{name: "driver namespace", user: map[string]string{"sluice--md5": "a", "sluice--sluice--": "b", "sluice-": "c"}},
	{name: "values", user: map[string]string{"u": "ü", "e": "", "s": " "}},
	{name: "not a token", user: map[string]string{"a:b": "1"}, wantErr: true},
	{name: "empty key", user: map[string]string{"": "1"}, wantErr: true},
	{name: "case collision", user: map[string]string{"a": "1", "A": "2"}, wantErr: true},
}

func TestMetadataCodec(t *testing.T) {
	for _, tc := range metadataTests {
		t.Run(tc.name, func(t *testing.T) {
			stored, err := encodeMetadata(tc.user)
			if tc.wantErr {
				if !errors.Is(err, location.ErrInvalidArgument) {
					t.Fatalf("encodeMetadata error = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored[md5MetaKey] = "0123456789abcdef0123456789abcdef"
			user, sum := decodeMetadata(stored)
			want := tc.want
			if want == nil {
				want = tc.user
			}
			if !maps.Equal(user, want) || sum != stored[md5MetaKey] {
				t.Fatalf("decodeMetadata(%q) = %q, %q; want %q", stored, user, sum, want)
			}
			if len(want) == 0 && user != nil {
				t.Fatalf("no user metadata decodes to %#v, want nil", user)
			}
		})
	}
	// A malformed MD5 and unknown driver keys are ignored.
	user, sum := decodeMetadata(map[string]string{md5MetaKey: "xyz", internalPrefix + "future": "1", "K": "v"})
	if sum != "" || !maps.Equal(user, map[string]string{"k": "v"}) {
		t.Fatalf("decodeMetadata = %q, %q", user, sum)
	}
}

func FuzzMetadataCodec(f *testing.F) {
	for _, tc := range metadataTests {
		for k, v := range tc.user {
			f.Add(k, v)
		}
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		stored, err := encodeMetadata(map[string]string{k: v})
		if err != nil {
			if !errors.Is(err, location.ErrInvalidArgument) {
				t.Fatalf("encodeMetadata error %v does not wrap ErrInvalidArgument", err)
			}
			return
		}
		for sk := range stored {
			if sk == md5MetaKey || !isToken(sk) || strings.ToLower(sk) != sk {
				t.Fatalf("key %q stored as %q", k, sk)
			}
		}
		user, sum := decodeMetadata(stored)
		if sum != "" || !maps.Equal(user, map[string]string{strings.ToLower(k): v}) {
			t.Fatalf("round trip of %q=%q = %q, %q", k, v, user, sum)
		}
	})
}

func TestCopySource(t *testing.T) {
	tests := map[string]string{
		"a/b.c":             "bkt/a/b.c",
		".sluice-tmp/ABC27": "bkt/.sluice-tmp/ABC27",
		"a b+c%":            "bkt/a%20b%2Bc%25",
		"é?#":               "bkt/%C3%A9%3F%23",
	}
	for key, want := range tests {
		if got := copySource("bkt", key); got != want {
			t.Errorf("copySource(%q) = %q, want %q", key, got, want)
		}
	}
}
