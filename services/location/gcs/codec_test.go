package gcs

import (
	"strings"
	"testing"

	"google.golang.org/api/option"

	"github.com/sluice-io/sluice/services/location"
)

var sizeTests = []struct {
	in   string
	want int64 // 0: an error
}{
	{"1", 1}, {"8MiB", 8 << 20}, {" 256 KiB ", 256 << 10}, {"2GiB", 2 << 30}, {"512B", 512},
	{"", 0}, {"0", 0}, {"-1", 0}, {"1.5MiB", 0}, {"MiB", 0}, {"5mb", 0}, {"4194305TiB", 0},
}

func TestParseSize(t *testing.T) {
	for _, tc := range sizeTests {
		got, err := parseSize(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, tc := range sizeTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseSize(s); err == nil && n <= 0 {
			t.Fatalf("parseSize(%q) = %d without error", s, n)
		}
	})
}

func TestCredentialsType(t *testing.T) {
	tests := []struct {
		doc  string
		want option.CredentialsType
	}{
		{`{"type":"service_account","private_key":"x"}`, option.ServiceAccount},
		{`{"type":"authorized_user"}`, option.AuthorizedUser},
		{`{"type":"external_account"}`, option.ExternalAccount},
		{`{"type":"impersonated_service_account"}`, option.ImpersonatedServiceAccount},
		{`{"type":"gdch_service_account"}`, ""},
		{`{}`, ""},
		{`secret-not-json`, ""},
	}
	for _, tc := range tests {
		got, err := credentialsType([]byte(tc.doc))
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("credentialsType(%s) = %q, %v; want %q", tc.doc, got, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q quotes the document", err)
		}
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"a": true, "a/b": true, "a//b": true, "/a": true, "a/./b": true, "...": true, ".well-known/x": true,
		".": false, "..": false, "a\rb": false, "a\nb": false, "a\x00": false, "\xff": false, ".well-known/acme-challenge/t": false} {
		if err := checkName(name); (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), location.ErrInvalidKey.Error())) {
			t.Errorf("checkName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestStorable(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": "abc", "caf\xc3": "caf", "a\x00b": "a", "\xff": ""} {
		if got := storable(in); got != want {
			t.Errorf("storable(%q) = %q, want %q", in, got, want)
		}
	}
}
