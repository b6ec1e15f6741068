package gcs

import (
	"strings"
	"testing"

	"google.golang.org/api/option"

	"github.com/sluice-io/sluice/services/location"
)

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
