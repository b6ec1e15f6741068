package locationtest

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

func (s *suite) testCompose(t *testing.T) {
	d := s.driver(t)
	c, ok := d.(location.Composer)
	if !ok {
		t.Skip("driver does not implement location.Composer")
	}
	parts := map[string][]byte{
		"parts/1": genBytes(40, 300<<10+3),
		"parts/2": []byte("a small part"),
		"parts/3": nil,
		"parts/4": genBytes(41, 1<<20+9),
	}
	for k, v := range parts {
		put(t, d, k, v, location.PutOptions{})
	}
	concat := func(keys ...string) []byte {
		var b []byte
		for _, k := range keys {
			b = append(b, parts[k]...)
		}
		return b
	}
	ctx := t.Context()
	meta := map[string]string{"origin": "multipart"}
	tests := []struct {
		name string
		dst  string
		srcs []string
	}{
		{"several", "composed/a", []string{"parts/1", "parts/2", "parts/3", "parts/4"}},
		{"repeated source", "composed/b", []string{"parts/2", "parts/4", "parts/2"}},
		{"one source is a copy", "composed/c", []string{"parts/1"}},
		{"overwrite", "composed/a", []string{"parts/2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := concat(tc.srcs...)
			info, err := c.Compose(ctx, tc.dst, tc.srcs, location.ComposeOptions{ContentType: "application/x-composed", Metadata: meta})
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			if info.Key != tc.dst || info.Size != int64(len(want)) || info.ETag == "" {
				t.Fatalf("Compose returned %+v, want key %q size %d and an ETag", info, tc.dst, len(want))
			}
			got, gi := get(t, d, tc.dst, nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("composed object = %d bytes, want %d bytes of the sources in order", len(got), len(want))
			}
			if gi.ETag != info.ETag || gi.ContentType != "application/x-composed" || !maps.Equal(gi.Metadata, meta) {
				t.Fatalf("composed object info = %+v, want ETag %q and the given content type and metadata", gi, info.ETag)
			}
		})
	}
	t.Run("destination among sources", func(t *testing.T) {
		put(t, d, "composed/self", []byte("head-"), location.PutOptions{})
		if _, err := c.Compose(ctx, "composed/self", []string{"composed/self", "parts/2"}, location.ComposeOptions{}); err != nil {
			t.Fatalf("Compose: %v", err)
		}
		mustGetEqual2(t, d, "composed/self", append([]byte("head-"), parts["parts/2"]...))
	})
	t.Run("sources unchanged", func(t *testing.T) {
		for k, v := range parts {
			mustGetEqual(t, d, k, v)
		}
	})
	t.Run("failures leave the destination alone", func(t *testing.T) {
		put(t, d, "composed/keep", []byte("keep me"), location.PutOptions{})
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		for _, tc := range []struct {
			name    string
			ctx     context.Context
			srcs    []string
			wantErr func(error) bool
		}{
			{"missing source", ctx, []string{"parts/1", "parts/missing"}, func(err error) bool { return errors.Is(err, location.ErrNotFound) }},
			{"no sources", ctx, nil, func(err error) bool { return errors.Is(err, location.ErrInvalidArgument) }},
			{"invalid source key", ctx, []string{""}, func(err error) bool { return errors.Is(err, location.ErrInvalidKey) }},
			{"cancelled", cancelled, []string{"parts/1"}, isCanceled},
		} {
			for _, dst := range []string{"composed/keep", "composed/new"} {
				_, err := c.Compose(tc.ctx, dst, tc.srcs, location.ComposeOptions{})
				if !tc.wantErr(err) {
					t.Errorf("%s: Compose(%q) error = %v", tc.name, dst, err)
				}
			}
			mustGetEqual(t, d, "composed/keep", []byte("keep me"))
			mustNotExist(t, d, "composed/new")
		}
		if _, err := c.Compose(ctx, "", []string{"parts/1"}, location.ComposeOptions{}); !errors.Is(err, location.ErrInvalidKey) {
			t.Errorf("Compose to an empty key: error = %v, want ErrInvalidKey", err)
		}
	})
	keys := keysOf(listAll(t, d, "composed/"))
	if want := []string{"composed/a", "composed/b", "composed/c", "composed/keep", "composed/self"}; !slices.Equal(keys, want) {
		t.Errorf("List(composed/) = %q, want %q", keys, want)
	}
}

// mustGetEqual2 checks content only: a composed object's ETag need not be
// an MD5.
func mustGetEqual2(t *testing.T, d location.Driver, key string, want []byte) {
	t.Helper()
	got, _ := get(t, d, key, nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}
