package fs

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/locationtest"
)

// maxDepth bounds the number of path elements of any key.
const maxDepth = maxDirSegments + (location.MaxKeyLen*3)/(maxPieceName-2) + 2

var componentTests = []struct {
	key      string
	want     string // elements joined with "/"; "" for ErrInvalidKey
	wantFold string // on a case-folding filesystem, if different
}{
	{key: "photos/2024/cat.jpg", want: "photos/2024/cat.jpg~o"},
	{key: "bucket/0b1e9c6a-7f3d-4c2e-9a51-3d2f4e5a6b7c", want: "bucket/0b1e9c6a-7f3d-4c2e-9a51-3d2f4e5a6b7c~o"},
	{key: "a", want: "a~o"},
	{key: "a/b", want: "a/b~o"},
	{key: "a/", want: "a/%~o"},
	{key: "a//b", want: "a/%/b~o"},
	{key: "/", want: "%/%~o"},
	{key: "../x", want: "%2E./x~o"},
	{key: "a/../../b", want: "a/%2E./%2E./b~o"},
	{key: "/etc/passwd", want: "%/etc/passwd~o"},
	{key: ".", want: "%2E~o"},
	{key: "..", want: "%2E.~o"},
	{key: "...", want: "%2E..~o"},
	{key: ".hidden", want: "%2Ehidden~o"},
	{key: "x.tar.gz", want: "x.tar.gz~o"},
	{key: `a\b`, want: "a%5Cb~o"},
	{key: "nul\x00", want: "nul%00~o"},
	{key: "\xff", want: "%FF~o"},
	{key: "é", want: "%C3%A9~o"},
	{key: "with space", want: "with%20space~o"},
	{key: "x~o", want: "x%7Eo~o"},
	{key: "x~+/y", want: "x%7E%2B/y~o"},
	{key: "%", want: "%25~o"},
	{key: "%41", want: "%2541~o"},
	{key: "Cat", want: "Cat~o", wantFold: "%43at~o"},
	{key: strings.Repeat("x", 300), want: strings.Repeat("x", 240) + "~+/" + strings.Repeat("x", 60) + "~o"},
	{key: strings.Repeat("x", 240) + ".y", want: strings.Repeat("x", 240) + "~+/%2Ey~o"},
	{key: strings.Repeat("é", 100), want: strings.Repeat("%C3%A9", 40) + "~+/" + strings.Repeat("%C3%A9", 40) + "~+/" + strings.Repeat("%C3%A9", 20) + "~o"},
	{key: strings.Repeat("s/", 17) + "end", want: strings.Repeat("s/", 16) + "s%2Fend~o"},
	{key: strings.Repeat("/", 20), want: strings.Repeat("%/", 16) + "%2F%2F%2F%2F~o"},
	{key: strings.Repeat("k", location.MaxKeyLen), want: strings.Repeat(strings.Repeat("k", 240)+"~+/", 4) + strings.Repeat("k", 64) + "~o"},
	{key: "", want: ""},
	{key: strings.Repeat("k", location.MaxKeyLen+1), want: ""},
}

func TestComponents(t *testing.T) {
	for _, tc := range componentTests {
		for _, m := range []mapper{{}, {foldCase: true}} {
			comps, err := m.components(tc.key)
			if tc.want == "" {
				if !errors.Is(err, location.ErrInvalidKey) {
					t.Errorf("components(%.40q) error = %v, want ErrInvalidKey", tc.key, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("components(%.40q): %v", tc.key, err)
				continue
			}
			want := tc.want
			if m.foldCase && tc.wantFold != "" {
				want = tc.wantFold
			}
			if got := strings.Join(comps, "/"); got != want {
				t.Errorf("components(%.40q, fold=%v)\n got %q\nwant %q", tc.key, m.foldCase, got, want)
			}
			checkPath(t, m, tc.key, comps)
		}
	}
}

func TestComponentsOddKeys(t *testing.T) {
	for _, k := range locationtest.OddKeys() {
		for _, m := range []mapper{{}, {foldCase: true}} {
			comps, err := m.components(k.Key)
			if err != nil {
				t.Errorf("components(%q): %v", k.Name, err)
				continue
			}
			checkPath(t, m, k.Key, comps)
		}
	}
}

// checkPath checks everything components promises about one key's path.
func checkPath(t *testing.T, m mapper, key string, comps []string) {
	t.Helper()
	if len(comps) == 0 || len(comps) > maxDepth {
		t.Fatalf("key %.40q: %d path elements, want 1..%d", key, len(comps), maxDepth)
	}
	for _, c := range comps {
		switch {
		case c == "" || c == "." || c == "..":
			t.Fatalf("key %.40q: element %q", key, c)
		case len(c) > maxPieceName+len(objectSuffix):
			t.Fatalf("key %.40q: element of %d bytes", key, len(c))
		case strings.ContainsAny(c, "/\\\x00") || c[0] == '.' || !utf8.ValidString(c):
			t.Fatalf("key %.40q: unsafe element %q", key, c)
		}
		for i := 0; i < len(c); i++ {
			if c[i] <= ' ' || c[i] >= 0x7f {
				t.Fatalf("key %.40q: element %q holds byte %#x", key, c, c[i])
			}
		}
	}
	p, err := join(comps)
	if err != nil {
		t.Fatalf("key %.40q: join: %v", key, err)
	}
	root := filepath.FromSlash("/srv/root")
	if full := filepath.Join(root, p); !strings.HasPrefix(full, root+string(filepath.Separator)) {
		t.Fatalf("key %.40q: path %q leaves %q", key, full, root)
	}
	if got, ok := m.keyOf(comps); !ok || got != key {
		t.Fatalf("keyOf(components(%.40q)) = %.40q, %v", key, got, ok)
	}
}

func TestParseNameRejects(t *testing.T) {
	tests := []struct {
		name string
		fold bool
	}{
		{name: ".tmp"}, {name: ".lock"}, {name: ".sluice-fs"}, {name: ""}, {name: "~o"}, {name: "~+"},
		{name: "%~+"},             // an empty continuation piece
		{name: "%41~o"},           // 'A' needs no escape
		{name: "A~o", fold: true}, // ...unless the filesystem folds case
		{name: "%2e~o"},           // lower-case hex
		{name: "%4~o"}, {name: "%zz~o"}, {name: "abc%"}, {name: "a~x"}, {name: "a~o~o"},
		{name: "a b~o"},                         // a space must be escaped
		{name: "a%2Fb"},                         // a directory cannot hold '/'
		{name: strings.Repeat("x", 241) + "~o"}, // too long
		{name: ".x~o"},                          // leading dot
	}
	for _, tc := range tests {
		if piece, kind, ok := (mapper{foldCase: tc.fold}).parseName(tc.name); ok {
			t.Errorf("parseName(%q, fold=%v) = %q, %d, true; want rejected", tc.name, tc.fold, piece, kind)
		}
	}
}

func TestKeyOfRejects(t *testing.T) {
	for _, comps := range [][]string{
		nil,
		{"a"},          // a directory, no object
		{"a~o", "b~o"}, // an object in the middle
		{"a~+"},        // a continuation, no object
		{".tmp", "x~o"},
	} {
		if key, ok := (mapper{}).keyOf(comps); ok {
			t.Errorf("keyOf(%q) = %q, true; want rejected", comps, key)
		}
	}
}

func TestJoinRejects(t *testing.T) {
	for _, comps := range [][]string{{".."}, {"a", ".."}, {"."}, {""}, {"a/b"}, {`a\b`}, {"a\x00"}, {".tmp"}} {
		if p, err := join(comps); !errors.Is(err, location.ErrInvalidKey) {
			t.Errorf("join(%q) = %q, %v; want ErrInvalidKey", comps, p, err)
		}
	}
}

// FuzzKeyPath checks that any key maps to a safe path under the root that
// decodes back to the key, or is rejected with ErrInvalidKey, and that two
// distinct keys never share a path.
func FuzzKeyPath(f *testing.F) {
	for _, tc := range componentTests {
		f.Add(tc.key, tc.key+"/")
	}
	for _, k := range locationtest.OddKeys() {
		f.Add(k.Key, strings.ToUpper(k.Key))
	}
	f.Add("a", "A")
	f.Add("x", "x~o")
	f.Add("a/b", "a%2Fb")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, m := range []mapper{{}, {foldCase: true}} {
			pa, errA := m.components(a)
			pb, errB := m.components(b)
			for _, c := range []struct {
				key   string
				comps []string
				err   error
			}{{a, pa, errA}, {b, pb, errB}} {
				if c.err != nil {
					if !errors.Is(c.err, location.ErrInvalidKey) || location.ValidateKey(c.key) == nil {
						t.Fatalf("components(%q): unexpected error %v", c.key, c.err)
					}
					continue
				}
				checkPath(t, m, c.key, c.comps)
			}
			if errA == nil && errB == nil && a != b {
				same := strings.Join(pa, "/") == strings.Join(pb, "/")
				if m.foldCase {
					same = strings.EqualFold(strings.Join(pa, "/"), strings.Join(pb, "/"))
				}
				if same {
					t.Fatalf("keys %q and %q share the path %q (fold=%v)", a, b, pa, m.foldCase)
				}
			}
		}
	})
}
