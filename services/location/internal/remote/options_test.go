package remote

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

var sizeTests = []struct {
	in   string
	want int64 // 0: an error
}{
	{"1", 1},
	{"8MiB", 8 << 20},
	{" 5 MiB ", 5 << 20},
	{" 256 KiB ", 256 << 10},
	{"3KiB", 3 << 10},
	{"2GiB", 2 << 30},
	{"1TiB", 1 << 40},
	{"512B", 512},
	{"", 0},
	{"0", 0},
	{"-1", 0},
	{"1.5MiB", 0},
	{"MiB", 0},
	{"5mb", 0},
	{"99999999999999999999", 0},
	{"4194304TiB", 1 << 62},
	{"4194305TiB", 0},
}

func TestParseSize(t *testing.T) {
	for _, tc := range sizeTests {
		got, err := ParseSize(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, tc := range sizeTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && n <= 0 {
			t.Fatalf("ParseSize(%q) = %d without error", s, n)
		}
	})
}

type testConfig struct {
	Size  int64
	N     int
	Mode  string
	Limit int64
}

func (c *testConfig) options() []Option {
	return []Option{SizeOption("size", &c.Size), PositiveIntOption("n", &c.N), StringOption("mode", &c.Mode), SizeOption("limit", &c.Limit)}
}

func TestApplyOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]string
		want    testConfig
		wantErr string // "" when valid
	}{
		{"none", nil, testConfig{}, ""},
		{"all", map[string]string{"size": "8MiB", "n": " 3 ", "mode": "x", "limit": "1GiB"}, testConfig{8 << 20, 3, "x", 1 << 30}, ""},
		{"unknown key", map[string]string{"Size": "1"}, testConfig{}, `drv: unknown option "Size" (known: size, n, mode, limit)`},
		{"bad size", map[string]string{"size": "big"}, testConfig{}, `drv: option size="big": size "big"`},
		{"zero n", map[string]string{"n": "0"}, testConfig{}, `drv: option n="0": must be positive`},
		{"bad n", map[string]string{"n": "two"}, testConfig{}, `drv: option n="two"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			err := ApplyOptions("drv", tc.opts, c.options()...)
			if tc.wantErr == "" {
				if err != nil || c != tc.want {
					t.Fatalf("ApplyOptions = %+v, %v; want %+v", c, err, tc.want)
				}
				return
			}
			if !errors.Is(err, location.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ApplyOptions error = %v, want ErrInvalidConfig with %q", err, tc.wantErr)
			}
		})
	}
}
