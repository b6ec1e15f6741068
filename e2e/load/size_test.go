package load

import (
	"errors"
	"testing"
)

var sizeCases = []struct {
	in   string
	want int64
	ok   bool
}{
	{"0", 0, true},
	{"4096", 4096, true},
	{"1b", 1, true},
	{"64KiB", 64 << 10, true},
	{"64kib", 64 << 10, true},
	{"64K", 64 << 10, true},
	{"64KB", 64000, true},
	{"4MiB", 4 << 20, true},
	{"4M", 4 << 20, true},
	{"10MB", 10_000_000, true},
	{"1GiB", 1 << 30, true},
	{"2TiB", 2 << 40, true},
	{"1.5MiB", 3 << 19, true},
	{"0.5KiB", 512, true},
	{" 8 KiB ", 8 << 10, true},
	{"", 0, false},
	{"KiB", 0, false},
	{"-1", 0, false},
	{"1.0001KiB", 0, false}, // not a whole number of bytes
	{"1.5", 0, false},
	{"12XB", 0, false},
	{"1..2MiB", 0, false},
	{"9223372036854775807", 9223372036854775807, true},
	{"9223372036854775807K", 0, false},
	{"99999999999999999999", 0, false},
	{"8589934592TiB", 0, false},
	{"1e3", 0, false},
}

func TestParseSize(t *testing.T) {
	for _, tc := range sizeCases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if !tc.ok {
				if !errors.Is(err, ErrInvalidSize) {
					t.Fatalf("ParseSize(%q) = %d, %v; want an error wrapping ErrInvalidSize", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{
		{0, "0B"}, {1, "1B"}, {1000, "1000B"}, {1024, "1KiB"}, {64 << 10, "64KiB"},
		{4 << 20, "4MiB"}, {3 << 19, "1536KiB"}, {1 << 30, "1GiB"}, {5 << 40, "5TiB"},
	} {
		if got := FormatSize(tc.in); got != tc.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := ParseSize(FormatSize(tc.in)); err != nil || back != tc.in {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", tc.in, back, err)
		}
	}
}

// FuzzParseSize checks that ParseSize never panics, fails only with ErrInvalidSize, never
// returns a negative size, and that its results survive a FormatSize round trip.
func FuzzParseSize(f *testing.F) {
	for _, tc := range sizeCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSize) {
				t.Fatalf("ParseSize(%q): error %v does not wrap ErrInvalidSize", s, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, n)
		}
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Fatalf("round trip of %d via %q = %d, %v", n, FormatSize(n), back, err)
		}
	})
}
