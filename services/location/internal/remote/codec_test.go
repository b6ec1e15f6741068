package remote

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var valueTests = []struct {
	value string
	plain bool // stored unchanged
}{
	{"plain", true},
	{"a b", true},
	{"", false},
	{" lead", false},
	{"trail ", false},
	{"=?looks encoded", false},
	{"café", false},
	{"tab\there", false},
	{"\xff", false},
}

func TestEncodeValue(t *testing.T) {
	for _, tc := range valueTests {
		enc := EncodeValue(tc.value)
		if got := enc == tc.value; got != tc.plain {
			t.Errorf("EncodeValue(%q) = %q; unchanged = %v, want %v", tc.value, enc, got, tc.plain)
		}
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] >= 0x7f {
				t.Errorf("EncodeValue(%q) = %q is not printable ASCII", tc.value, enc)
				break
			}
		}
		if dec := DecodeValue(enc); dec != tc.value {
			t.Errorf("DecodeValue(EncodeValue(%q)) = %q", tc.value, dec)
		}
	}
	for stored, want := range map[string]string{"=?UTF-8?Q?caf=C3=A9?=": "café", "=?bogus?=": "=?bogus?=", "=?UTF-8?B?!!?=": "=?UTF-8?B?!!?="} {
		if got := DecodeValue(stored); got != want {
			t.Errorf("DecodeValue(%q) = %q, want %q", stored, got, want)
		}
	}
}

func FuzzEncodeValue(f *testing.F) {
	for _, tc := range valueTests {
		f.Add(tc.value)
	}
	f.Fuzz(func(t *testing.T, v string) {
		enc := EncodeValue(v)
		if strings.HasPrefix(enc, " ") || strings.HasSuffix(enc, " ") {
			t.Fatalf("EncodeValue(%q) = %q has spaces at an end", v, enc)
		}
		if dec := DecodeValue(enc); utf8.ValidString(v) && dec != v {
			t.Fatalf("DecodeValue(EncodeValue(%q)) = %q", v, dec)
		}
		DecodeValue(v) // never panics on stored values
	})
}

func TestTotalSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"bytes 0-9/100", 100, true},
		{"bytes 5-5/6", 6, true},
		{"bytes */100", 100, true},
		{"bytes 0-9/*", 0, false},
		{"0-9/100", 0, false},
		{"bytes 0-9/-1", 0, false},
		{"bytes 1-2/x", 0, false},
	}
	for _, tc := range tests {
		got, err := TotalSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("TotalSize(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestStorable(t *testing.T) {
	tests := map[string]string{
		"":           "",
		"abc":        "abc",
		"café":       "café",
		"caf\xc3":    "caf",
		"a\x00b":     "a",
		"\xff":       "",
		"ok\xffmore": "ok",
	}
	for in, want := range tests {
		if got := Storable(in); got != want {
			t.Errorf("Storable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewHTTPClient(t *testing.T) {
	c := NewHTTPClient()
	if c.Timeout != 0 {
		t.Errorf("Timeout = %v, want none: bodies stream for as long as they take", c.Timeout)
	}
	if c.Transport == nil {
		t.Error("no transport of its own")
	}
}
