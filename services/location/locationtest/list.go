package locationtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

// listKeys returns the keys the List subtest stores: byte-order traps around
// '/', long segments, and the nested and path-like keys the features allow.
func (s *suite) listKeys() []string {
	l240, l250 := strings.Repeat("s", 240), strings.Repeat("t", 250)
	keys := []string{
		"a-b", "a.c", "a/b/c", "a/b/d", "a/c", "a0", "b", "b-", "c d", "café", "cafe/x",
		"z", "zz/top", "Upper", "upper", "é", "~tilde",
		// '-' < '/' < '0': keys continuing a long segment sort on both
		// sides of the keys below it.
		l240 + "-z", l240 + "/y", l240 + "0z", l250, l250 + "x",
	}
	if s.features.NestedKeys {
		keys = append(keys, "a", "a/b", "b/x", "cafe", l240)
	}
	if s.features.NestedKeys && s.features.PathLikeKeys {
		keys = append(keys, "a/", "a//b", "/", "/a", "cafe/")
	}
	return keys
}

func (s *suite) testList(t *testing.T) {
	d := s.driver(t)
	keys := s.listKeys()
	data := map[string][]byte{}
	for i, k := range keys {
		data[k] = []byte(fmt.Sprintf("object %d", i))
		put(t, d, k, data[k], location.PutOptions{})
	}
	slices.Sort(keys) // byte order
	l240 := strings.Repeat("s", 240)
	tests := []struct {
		prefix, startAfter string
		limit              int
	}{
		{"", "", 0},
		{"", "", 1},
		{"", "", 3},
		{"a", "", 0},
		{"a", "", 2},
		{"a/", "", 0},
		{"a/b", "", 0},
		{"a/b/", "", 0},
		{"b", "", 0},
		{"caf", "", 0},
		{"nothing", "", 0},
		{"", "a", 0},
		{"", "a/", 0},
		{"", "a/b/c", 0},
		{"", "a/b/cc", 0},
		{"", "b", 2},
		{"", "zzz", 0},
		{"", "\xff", 0},
		{"", "\x00", 0},
		{"a/", "a/b/c", 0},
		{"a/", "b", 0},
		{"b", "a", 0},
		{l240, "", 0},
		{l240, l240 + "-z", 0},
		{l240 + "/", "", 0},
		{"", l240, 0},
		{"", l240 + "/", 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("prefix=%.12q after=%.12q limit=%d", tc.prefix, tc.startAfter, tc.limit), func(t *testing.T) {
			var want []string
			for _, k := range keys {
				if strings.HasPrefix(k, tc.prefix) && k > tc.startAfter && (tc.limit == 0 || len(want) < tc.limit) {
					want = append(want, k)
				}
			}
			got, err := d.List(t.Context(), tc.prefix, tc.startAfter, tc.limit)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if !slices.Equal(keysOf(got), want) {
				t.Fatalf("List(%q, %q, %d)\n got %q\nwant %q", tc.prefix, tc.startAfter, tc.limit, keysOf(got), want)
			}
			for _, info := range got {
				checkInfo(t, "List", info, info.Key, data[info.Key])
			}
		})
	}
}

func (s *suite) testListPaging(t *testing.T) {
	d := s.driver(t)
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("page/%02d", i)
		put(t, d, k, []byte(k), location.PutOptions{})
		want = append(want, k)
	}
	put(t, d, "other", []byte("not in the prefix"), location.PutOptions{})
	for _, limit := range []int{1, 2, 5, 7, 24, 25, 26, 1000} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatalf("limit %d: List does not end: %q", limit, got)
			}
			page, err := d.List(t.Context(), "page/", after, limit)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(page) > limit {
				t.Fatalf("List(limit %d) returned %d", limit, len(page))
			}
			got = append(got, keysOf(page)...)
			if len(page) < limit {
				break
			}
			after = page[len(page)-1].Key
		}
		if !slices.Equal(got, want) {
			t.Errorf("paging with limit %d = %q, want %q", limit, got, want)
		}
	}
	if page, err := d.List(t.Context(), "", "", 0); err != nil || len(page) != 26 {
		t.Errorf("List with limit 0 = %d objects, %v; want all 26", len(page), err)
	}
}
