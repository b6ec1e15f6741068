package locationtest

import (
	"bytes"
	"crypto/md5"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

func (s *suite) testPutGet(t *testing.T) {
	d := s.driver(t)
	tests := []struct {
		name      string
		data      []byte
		knownSize bool
	}{
		{"empty", nil, true},
		{"empty unknown size", nil, false},
		{"one byte", []byte{0}, true},
		{"text", []byte("hello, sluice"), true},
		{"text unknown size", []byte("hello, unknown size"), false},
		{"several MiB", genBytes(1, 3<<20+17), true},
		{"several MiB unknown size", genBytes(2, 3<<20+31), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "putget/" + strings.ReplaceAll(tc.name, " ", "-")
			opts := location.PutOptions{Size: -1}
			if tc.knownSize {
				opts.Size = int64(len(tc.data))
			}
			// A reader that is not a *bytes.Reader, so drivers cannot peek at it.
			r := &failingReader{r: bytes.NewReader(tc.data), n: int64(len(tc.data)) + 1, err: errBoom}
			info, err := d.Put(t.Context(), key, r, opts)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			checkInfo(t, "Put", info, key, tc.data)
			mustGetEqual(t, d, key, tc.data)
			st, err := d.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			checkInfo(t, "Stat", st, key, tc.data)
		})
	}
}

func (s *suite) testOverwrite(t *testing.T) {
	d := s.driver(t)
	versions := [][]byte{genBytes(3, 200_000), []byte("short"), nil, genBytes(4, 1<<20+1)}
	for i, data := range versions {
		info := put(t, d, "over/write", data, location.PutOptions{ContentType: "v/" + string(rune('a'+i))})
		mustGetEqual(t, d, "over/write", data)
		st, err := d.Stat(t.Context(), "over/write")
		if err != nil {
			t.Fatalf("Stat after version %d: %v", i, err)
		}
		if st.ETag != info.ETag || st.Size != info.Size || st.ContentType != info.ContentType {
			t.Fatalf("Stat after version %d = %+v, want %+v", i, st, info)
		}
	}
	if got := keysOf(listAll(t, d, "")); len(got) != 1 || got[0] != "over/write" {
		t.Fatalf("List after overwrites = %q, want one key", got)
	}
}

func (s *suite) testRange(t *testing.T) {
	d := s.driver(t)
	data := genBytes(5, 1000)
	put(t, d, "range", data, location.PutOptions{})
	put(t, d, "range-empty", nil, location.PutOptions{})
	tests := []struct {
		name       string
		rng        location.Range
		start, end int // expected bytes [start, end)
		invalid    bool
	}{
		{name: "first byte", rng: location.Range{Offset: 0, Length: 1}, start: 0, end: 1},
		{name: "start", rng: location.Range{Offset: 0, Length: 100}, start: 0, end: 100},
		{name: "whole by open end", rng: location.Range{Offset: 0}, start: 0, end: 1000},
		{name: "middle", rng: location.Range{Offset: 123, Length: 456}, start: 123, end: 579},
		{name: "end", rng: location.Range{Offset: 900, Length: 100}, start: 900, end: 1000},
		{name: "open end", rng: location.Range{Offset: 990}, start: 990, end: 1000},
		{name: "last byte", rng: location.Range{Offset: 999, Length: 1}, start: 999, end: 1000},
		{name: "beyond end", rng: location.Range{Offset: 950, Length: 1000}, start: 950, end: 1000},
		{name: "suffix", rng: location.Range{Offset: -10}, start: 990, end: 1000},
		{name: "suffix longer than object", rng: location.Range{Offset: -5000}, start: 0, end: 1000},
		{name: "offset at size", rng: location.Range{Offset: 1000, Length: 1}, invalid: true},
		{name: "offset beyond size", rng: location.Range{Offset: 5000}, invalid: true},
		{name: "negative length", rng: location.Range{Offset: 0, Length: -1}, invalid: true},
		{name: "suffix with length", rng: location.Range{Offset: -5, Length: 3}, invalid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.invalid {
				rc, _, err := d.Get(t.Context(), "range", &tc.rng)
				if err == nil {
					rc.Close()
				}
				if !errors.Is(err, location.ErrInvalidRange) {
					t.Fatalf("Get(%+v) error = %v, want ErrInvalidRange", tc.rng, err)
				}
				return
			}
			got, info := get(t, d, "range", &tc.rng)
			if want := data[tc.start:tc.end]; !bytes.Equal(got, want) {
				t.Fatalf("Get(%+v) = %d bytes, want bytes [%d,%d)", tc.rng, len(got), tc.start, tc.end)
			}
			checkInfo(t, "Get", info, "range", data) // describes the whole object
		})
	}
	t.Run("empty object", func(t *testing.T) {
		rc, _, err := d.Get(t.Context(), "range-empty", &location.Range{Offset: 0})
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, location.ErrInvalidRange) {
			t.Fatalf("ranged Get of an empty object: error = %v, want ErrInvalidRange", err)
		}
	})
}

func (s *suite) testStat(t *testing.T) {
	d := s.driver(t)
	data := []byte("stat me")
	info := put(t, d, "stat/key", data, location.PutOptions{ContentType: "text/plain"})
	st, err := d.Stat(t.Context(), "stat/key")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	checkInfo(t, "Stat", st, "stat/key", data)
	if st.ContentType != "text/plain" {
		t.Errorf("Stat ContentType = %q, want text/plain", st.ContentType)
	}
	if st.ETag != info.ETag {
		t.Errorf("Stat ETag = %q, Put returned %q", st.ETag, info.ETag)
	}
	// Stat of a "directory" of keys is not an object.
	mustNotExist(t, d, "stat")
	mustNotExist(t, d, "stat/")
}

func (s *suite) testDelete(t *testing.T) {
	d := s.driver(t)
	put(t, d, "del/one", []byte("1"), location.PutOptions{})
	put(t, d, "del/one-more", []byte("2"), location.PutOptions{})
	put(t, d, "del/onex", []byte("3"), location.PutOptions{})
	if err := d.Delete(t.Context(), "del/one"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustNotExist(t, d, "del/one")
	mustGetEqual(t, d, "del/one-more", []byte("2"))
	mustGetEqual(t, d, "del/onex", []byte("3"))
	if got := keysOf(listAll(t, d, "del/")); !slices.Equal(got, []string{"del/one-more", "del/onex"}) {
		t.Errorf("List after Delete = %q", got)
	}
	for _, key := range []string{"del/one", "never/existed", "del", "del/"} {
		if err := d.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete(%q) of a missing key: %v, want nil", key, err)
		}
	}
	// Delete then Put again.
	put(t, d, "del/one", []byte("back"), location.PutOptions{})
	mustGetEqual(t, d, "del/one", []byte("back"))
}

func (s *suite) testNotFound(t *testing.T) {
	d := s.driver(t)
	mustNotExist(t, d, "missing")
	put(t, d, "present/key", []byte("x"), location.PutOptions{})
	for _, key := range []string{"missing", "present", "present/", "present/key/", "present/ke", "present/key2"} {
		mustNotExist(t, d, key)
		// A range does not turn not-found into an invalid range.
		rc, _, err := d.Get(t.Context(), key, &location.Range{Offset: 5, Length: 1})
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, location.ErrNotFound) {
			t.Errorf("ranged Get(%q) error = %v, want ErrNotFound", key, err)
		}
	}
	if page, err := d.List(t.Context(), "missing", "", 10); err != nil || len(page) != 0 {
		t.Errorf("List(missing) = %v, %v; want empty, nil", keysOf(page), err)
	}
}

func (s *suite) testMetadata(t *testing.T) {
	d := s.driver(t)
	tests := []struct {
		name        string
		contentType string
		meta        map[string]string
		unicode     bool
	}{
		{name: "none"},
		{name: "content type only", contentType: "image/png"},
		{name: "ascii", contentType: "text/plain; charset=utf-8", meta: map[string]string{
			"color": "blue", "owner-id": "42", "note": "a value with spaces & symbols !#$%()*+,./:;<=>?@[]^_{|}~",
		}},
		{name: "many", contentType: "application/x-sluice", meta: func() map[string]string {
			m := map[string]string{}
			for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
				m["key-"+k] = strings.Repeat(k, 50)
			}
			return m
		}()},
		{name: "unicode", contentType: "text/plain", meta: map[string]string{"city": "Zürich", "mood": "☕ café"}, unicode: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.unicode && !s.features.UnicodeMetadata {
				t.Skip("driver does not declare UnicodeMetadata")
			}
			key := "meta/" + strings.ReplaceAll(tc.name, " ", "-")
			meta := maps.Clone(tc.meta)
			info := put(t, d, key, []byte(tc.name), location.PutOptions{ContentType: tc.contentType, Metadata: meta})
			for k := range meta { // the driver must not keep the caller's map
				meta[k] = "changed"
			}
			check := func(op string, got location.ObjectInfo) {
				t.Helper()
				if tc.contentType != "" && got.ContentType != tc.contentType {
					t.Errorf("%s ContentType = %q, want %q", op, got.ContentType, tc.contentType)
				}
				if !maps.Equal(got.Metadata, tc.meta) {
					t.Errorf("%s Metadata = %q, want %q", op, got.Metadata, tc.meta)
				}
			}
			check("Put", info)
			st, err := d.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			check("Stat", st)
			_, gi := get(t, d, key, &location.Range{Offset: 0, Length: 1})
			check("Get", gi)
		})
	}
}

func (s *suite) testInvalidKeys(t *testing.T) {
	d := s.driver(t)
	for _, key := range []string{"", strings.Repeat("k", location.MaxKeyLen+1)} {
		if _, err := d.Put(t.Context(), key, strings.NewReader("x"), location.PutOptions{Size: 1}); !errors.Is(err, location.ErrInvalidKey) {
			t.Errorf("Put(%d-byte key) error = %v, want ErrInvalidKey", len(key), err)
		}
		if rc, _, err := d.Get(t.Context(), key, nil); !errors.Is(err, location.ErrInvalidKey) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Get(%d-byte key) error = %v, want ErrInvalidKey", len(key), err)
		}
		if _, err := d.Stat(t.Context(), key); !errors.Is(err, location.ErrInvalidKey) {
			t.Errorf("Stat(%d-byte key) error = %v, want ErrInvalidKey", len(key), err)
		}
		if err := d.Delete(t.Context(), key); !errors.Is(err, location.ErrInvalidKey) {
			t.Errorf("Delete(%d-byte key) error = %v, want ErrInvalidKey", len(key), err)
		}
	}
	if page, err := d.List(t.Context(), "", "", 0); err != nil || len(page) != 0 {
		t.Errorf("List after invalid keys = %q, %v; want empty", keysOf(page), err)
	}
}

func (s *suite) testPutChecks(t *testing.T) {
	d := s.driver(t)
	old := []byte("the old version")
	data := []byte("0123456789")
	good := md5.Sum(data)
	bad := md5.Sum([]byte("something else"))
	tests := []struct {
		name    string
		size    int64
		md5     []byte
		wantErr error
	}{
		{"short body", 20, nil, location.ErrSizeMismatch},
		{"long body", 5, nil, location.ErrSizeMismatch},
		{"empty declared", 0, nil, location.ErrSizeMismatch},
		{"bad digest", 10, bad[:], location.ErrBadDigest},
		{"bad digest unknown size", -1, bad[:], location.ErrBadDigest},
		{"size below -1", -2, nil, location.ErrInvalidArgument},
		{"digest of 3 bytes", 10, []byte{1, 2, 3}, location.ErrInvalidArgument},
		{"good digest", 10, good[:], nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				key := "checks/" + strings.ReplaceAll(tc.name, " ", "-")
				if existing {
					key += "-existing"
					put(t, d, key, old, location.PutOptions{})
				}
				info, err := d.Put(t.Context(), key, bytes.NewReader(data), location.PutOptions{Size: tc.size, ContentMD5: tc.md5})
				if tc.wantErr == nil {
					if err != nil {
						t.Fatalf("Put: %v", err)
					}
					checkInfo(t, "Put", info, key, data)
					mustGetEqual(t, d, key, data)
					continue
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Put(existing=%v) error = %v, want %v", existing, err, tc.wantErr)
				}
				if existing {
					mustGetEqual(t, d, key, old)
				} else {
					mustNotExist(t, d, key)
				}
			}
		})
	}
}

func (s *suite) testClose(t *testing.T) {
	d := s.newDriver(t)
	put(t, d, "close/key", []byte("x"), location.PutOptions{})
	rc, _, err := d.Get(t.Context(), "close/key", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := t.Context()
	if _, err := d.Put(ctx, "close/other", strings.NewReader("y"), location.PutOptions{Size: 1}); !errors.Is(err, location.ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if _, _, err := d.Get(ctx, "close/key", nil); !errors.Is(err, location.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := d.Stat(ctx, "close/key"); !errors.Is(err, location.ErrClosed) {
		t.Errorf("Stat after Close: %v, want ErrClosed", err)
	}
	if err := d.Delete(ctx, "close/key"); !errors.Is(err, location.ErrClosed) {
		t.Errorf("Delete after Close: %v, want ErrClosed", err)
	}
	if _, err := d.List(ctx, "", "", 0); !errors.Is(err, location.ErrClosed) {
		t.Errorf("List after Close: %v, want ErrClosed", err)
	}
	// A reader opened before Close stays readable.
	got, err := io.ReadAll(rc)
	if err != nil || string(got) != "x" {
		t.Errorf("reading a reader opened before Close = %q, %v; want \"x\"", got, err)
	}
}
