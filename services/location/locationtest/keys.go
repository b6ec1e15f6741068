package locationtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

// OddKey is a key that storage backends and path mappings get wrong, with
// the feature a driver needs to store it.
type OddKey struct {
	Name string
	Key  string
	// Needs is the feature the key depends on: "" (every driver),
	// "PathLike", "NUL" or "Binary".
	Needs string
}

// OddKeys returns the keys the OddKeys subtest stores. Driver packages can
// reuse them in their own tests (the fs driver walks its root after storing
// all of them).
func OddKeys() []OddKey {
	long := func(seg string, n int) string { // n bytes of "seg/seg/...x"
		return strings.Repeat(seg+"/", n/(len(seg)+1)+1)[:n-1] + "x"
	}
	return []OddKey{
		{"space", "with space", ""},
		{"unicode", "ünïcödé/日本語/файл", ""},
		{"emoji", "emoji/😀🚀", ""},
		{"percent", "100%/%2F/%", ""},
		{"tilde", "~/x~o/y~+", ""},
		{"suffix lookalikes", "a~o", ""},
		{"leading dot", ".hidden", ""},
		{"dot names", "x/.tmp/.lock", ""},
		{"punctuation", "!$&'()*+,;=:@#?[]{}|<>^`\"", ""},
		{"1024 bytes", long("seg", location.MaxKeyLen), ""},
		{"1024 bytes one segment", strings.Repeat("x", location.MaxKeyLen), ""},
		{"long utf-8 segment", strings.Repeat("é", 300), ""},
		{"1024 bytes of utf-8", strings.Repeat("ö", location.MaxKeyLen/2), ""},
		{"dot-dot slash", "../x", "PathLike"},
		{"deep escape", "a/../../b", "PathLike"},
		{"many dot-dots", strings.Repeat("../", 20) + "etc/passwd", "PathLike"},
		{"absolute", "/etc/passwd", "PathLike"},
		{"dot", ".", "PathLike"},
		{"dot-dot", "..", "PathLike"},
		{"dot segment", "a/./b", "PathLike"},
		{"slash", "/", "PathLike"},
		{"double slash", "a//b", "PathLike"},
		{"only slashes", strings.Repeat("/", location.MaxKeyLen), "PathLike"},
		{"trailing slash", "dir/", "PathLike"},
		{"backslash", `a\b`, "PathLike"},
		{"windows escape", `..\..\windows`, "PathLike"},
		{"NUL", "nul\x00byte", "NUL"},
		{"only NUL", "\x00", "NUL"},
		{"invalid utf-8", "bad\xff\xfe", "Binary"},
		{"control characters", "ctl\x01\x1f\x7f\t\n\r", "Binary"},
		{"high bytes", "\x80\x81\xc0\xc1\xf5\xff", "Binary"},
	}
}

// supports reports whether the driver declared the feature needs.
func (s *suite) supports(needs string) bool {
	switch needs {
	case "":
		return true
	case "PathLike":
		return s.features.PathLikeKeys
	case "NUL":
		return s.features.NULKeys
	case "Binary":
		return s.features.BinaryKeys
	}
	return false
}

func (s *suite) testOddKeys(t *testing.T) {
	d := s.driver(t)
	data := map[string][]byte{}
	var keys []string
	for i, k := range OddKeys() {
		if !s.supports(k.Needs) {
			t.Logf("skipping key %q: driver does not declare %s keys", k.Name, k.Needs)
			continue
		}
		if _, dup := data[k.Key]; dup {
			t.Fatalf("OddKeys lists %q twice", k.Key)
		}
		data[k.Key] = []byte(fmt.Sprintf("odd %d: %q", i, k.Key))
		keys = append(keys, k.Key)
	}
	// Store all first, then read all: a mapping that sends two keys to one
	// place shows up as the wrong content.
	for _, k := range keys {
		put(t, d, k, data[k], location.PutOptions{})
	}
	for _, k := range keys {
		mustGetEqual(t, d, k, data[k])
		st, err := d.Stat(t.Context(), k)
		if err != nil {
			t.Errorf("Stat(%q): %v", k, err)
			continue
		}
		checkInfo(t, "Stat", st, k, data[k])
		page, err := d.List(t.Context(), k, "", 1)
		if err != nil || len(page) != 1 || page[0].Key != k {
			t.Errorf("List(prefix %q, limit 1) = %q, %v; want the key itself", k, keysOf(page), err)
		}
	}
	want := slices.Sorted(slices.Values(keys))
	if got := keysOf(listAll(t, d, "")); !slices.Equal(got, want) {
		t.Errorf("List of all odd keys\n got %q\nwant %q", got, want)
	}
	for _, k := range keys {
		if err := d.Delete(t.Context(), k); err != nil {
			t.Errorf("Delete(%q): %v", k, err)
		}
		mustNotExist(t, d, k)
	}
	if got := listAll(t, d, ""); len(got) != 0 {
		t.Errorf("List after deleting every odd key = %q", keysOf(got))
	}
}

func (s *suite) testNestedKeys(t *testing.T) {
	if !s.features.NestedKeys {
		t.Skip("driver does not declare NestedKeys")
	}
	d := s.driver(t)
	keys := []string{"n", "n/b", "n/b/c", "nb"}
	if s.features.PathLikeKeys {
		keys = append(keys, "n/", "n/b/", "n//")
	}
	for _, k := range keys {
		put(t, d, k, []byte("value of "+k), location.PutOptions{})
	}
	for _, k := range keys {
		mustGetEqual(t, d, k, []byte("value of "+k))
	}
	// Deleting the "directory" object leaves the objects below it, and
	// the other way round.
	if err := d.Delete(t.Context(), "n"); err != nil {
		t.Fatalf("Delete(n): %v", err)
	}
	mustNotExist(t, d, "n")
	mustGetEqual(t, d, "n/b/c", []byte("value of n/b/c"))
	if err := d.Delete(t.Context(), "n/b/c"); err != nil {
		t.Fatalf("Delete(n/b/c): %v", err)
	}
	mustGetEqual(t, d, "n/b", []byte("value of n/b"))
	put(t, d, "n", []byte("again"), location.PutOptions{})
	mustGetEqual(t, d, "n", []byte("again"))
}
