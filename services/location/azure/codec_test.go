package azure

import (
	"maps"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

var keyTests = []struct {
	key, stored string
}{
	{"color", "color"},
	{"a1", "a1"},
	{"owner-id", "x_owner_2did"},
	{"Upper", "x__55pper"},
	{"x_fake", "x_x_5ffake"},
	{"x", "x"},
	{"_", "x__5f"},
	{"1abc", "x_1abc"},
	{"日", "x__e6_97_a5"},
	{"a b", "x_a_20b"},
	{"\x00", "x__00"},
}

func TestKeyCodec(t *testing.T) {
	for _, tc := range keyTests {
		if got := encodeKey(tc.key); got != tc.stored {
			t.Errorf("encodeKey(%q) = %q, want %q", tc.key, got, tc.stored)
		}
		if got := decodeKey(tc.stored); got != tc.key {
			t.Errorf("decodeKey(%q) = %q, want %q", tc.stored, got, tc.key)
		}
		// Azure may return names in any case.
		if got := decodeKey(strings.ToUpper(tc.stored)); got != tc.key {
			t.Errorf("decodeKey(%q) = %q, want %q", strings.ToUpper(tc.stored), got, tc.key)
		}
	}
	// Names the encoder never makes come back folded, never panicking.
	for _, name := range []string{"x_", "x__", "x__4", "x__zz", "Other"} {
		if got := decodeKey(name); got != strings.ToLower(name) && name != "x_" {
			t.Errorf("decodeKey(%q) = %q", name, got)
		}
	}
}

func FuzzKeyCodec(f *testing.F) {
	for _, tc := range keyTests {
		f.Add(tc.key)
	}
	f.Fuzz(func(t *testing.T, k string) {
		name := encodeKey(k)
		if !isIdentifier(name) || strings.ToLower(name) != name {
			t.Fatalf("encodeKey(%q) = %q: not a lower-case C# identifier", k, name)
		}
		if got := decodeKey(name); got != k {
			t.Fatalf("round trip of %q via %q = %q", k, name, got)
		}
		decodeKey(k) // never panics on stored names
	})
}

var valueTests = []string{"blue", "", " lead", "trail ", "=?UTF-8?B?aGk=?=", "Zürich ☕", "tab\t", "\xff", "nul\x00", "a =?x?= b"}

func TestValueCodec(t *testing.T) {
	for _, v := range valueTests {
		enc := remote.EncodeValue(v)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] >= 0x7f {
				t.Errorf("remote.EncodeValue(%q) = %q holds a byte Azure refuses", v, enc)
			}
		}
		if dec := remote.DecodeValue(enc); dec != v {
			t.Errorf("remote.DecodeValue(remote.EncodeValue(%q)) = %q", v, dec)
		}
	}
}

func FuzzValueCodec(f *testing.F) {
	for _, v := range valueTests {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		enc := remote.EncodeValue(v)
		if strings.TrimSpace(enc) != enc {
			t.Fatalf("remote.EncodeValue(%q) = %q has spaces at an end", v, enc)
		}
		if dec := remote.DecodeValue(enc); dec != v {
			t.Fatalf("round trip of %q via %q = %q", v, enc, dec)
		}
	})
}

func TestMetadataCodec(t *testing.T) {
	user := map[string]string{"a": "1", "B-c": "Zürich", "x_y": ""}
	stored, err := encodeMetadata(user)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeMetadata(stored); !maps.Equal(got, user) {
		t.Fatalf("round trip = %q, want %q", got, user)
	}
	if m, err := encodeMetadata(nil); m != nil || err != nil {
		t.Fatalf("encodeMetadata(nil) = %v, %v", m, err)
	}
	if got := decodeMetadata(nil); got != nil {
		t.Fatalf("decodeMetadata(nil) = %#v, want nil", got)
	}
	if _, err := encodeMetadata(map[string]string{"": "x"}); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"a": true, "a/b": true, "dir/": true, ".hidden": true, "x/.tmp/.lock": true, "a.b": true, `a\b`: false, "a.": false, "a./b": false,
		"/a": false, "a//b": false, ".": false, "a/./b": false, "../x": false, "a/..": false, "\xff": false, "a\x00": false, "a\x01": false, "a\x7f": false} {
		if err := checkName(name); (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), location.ErrInvalidKey.Error())) {
			t.Errorf("checkName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
