package signature_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/events/deliver/signature"
)

func TestVerify(t *testing.T) {
	body := []byte(`{"Records":[]}`)
	good := signature.Sign([]byte("s3cret"), body)
	other := signature.Sign([]byte("other"), body)
	tests := []struct {
		name    string
		body    []byte
		header  string
		secrets []string
		want    error
	}{
		{"valid", body, good, []string{"s3cret"}, nil},
		{"second secret (rotation)", body, good, []string{"old", "s3cret"}, nil},
		{"list of signatures", body, other + ", " + good, []string{"s3cret"}, nil},
		{"wrong secret", body, good, []string{"nope"}, signature.ErrMismatch},
		{"tampered body", []byte(`{"Records":[{}]}`), good, []string{"s3cret"}, signature.ErrMismatch},
		{"missing", body, "", []string{"s3cret"}, signature.ErrMissing},
		{"blank", body, "   ", []string{"s3cret"}, signature.ErrMissing},
		{"other scheme", body, "sha1=" + strings.Repeat("0", 40), []string{"s3cret"}, signature.ErrMalformed},
		{"short", body, "sha256=abcd", []string{"s3cret"}, signature.ErrMalformed},
		{"not hex", body, "sha256=" + strings.Repeat("z", 64), []string{"s3cret"}, signature.ErrMalformed},
		{"no secret", body, good, nil, signature.ErrNoSecret},
		{"empty secret", body, good, []string{""}, signature.ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var secrets [][]byte
			for _, s := range tt.secrets {
				secrets = append(secrets, []byte(s))
			}
			err := signature.Verify(tt.body, tt.header, secrets...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignKnownVector(t *testing.T) {
	// RFC 4231 test case 2.
	got := signature.Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerifyRequestRestoresBody(t *testing.T) {
	body := `{"a":1}`
	tests := []struct {
		name    string
		header  string
		max     int64
		want    error
		wantErr bool
	}{
		{"ok", signature.Sign([]byte("k"), []byte(body)), 0, nil, false},
		{"too large", signature.Sign([]byte("k"), []byte(body)), 3, signature.ErrBodyTooLarge, true},
		{"bad", signature.Sign([]byte("x"), []byte(body)), 0, signature.ErrMismatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			r.Header.Set(signature.Header, tt.header)
			got, err := signature.VerifyRequest(r, tt.max, []byte("k"))
			if tt.wantErr {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || string(got) != body {
				t.Fatalf("VerifyRequest = %q, %v", got, err)
			}
			b, err := io.ReadAll(r.Body)
			if err != nil || string(b) != body {
				t.Fatalf("restored body = %q, %v", b, err)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	body := []byte("body")
	f.Add(body, signature.Sign([]byte("k"), body))
	f.Add(body, "")
	f.Add(body, "sha256=abcd")
	f.Add(body, "sha256="+strings.Repeat("z", 64)+",sha256=")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		err := signature.Verify(body, header, []byte("k"))
		if err == nil && header != signature.Sign([]byte("k"), body) && !strings.Contains(strings.ToLower(header), signature.Sign([]byte("k"), body)[len(signature.Scheme):]) {
			t.Fatalf("accepted header %q for body %q", header, body)
		}
		if signature.Verify(body, signature.Sign([]byte("k"), body), []byte("k")) != nil {
			t.Fatal("own signature rejected")
		}
	})
}
