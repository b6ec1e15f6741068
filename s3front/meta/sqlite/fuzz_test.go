package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/metatest"
	"github.com/sluice-io/sluice/s3front/meta/sqlite"
)

// FuzzListObjects checks prefix/delimiter grouping and marker pagination against
// the reference listing for arbitrary key sets ("|"-separated).
func FuzzListObjects(f *testing.F) {
	seeds := []struct{ keys, prefix, delim string }{
		{"a|a/b|a/c/d|b", "", "/"},
		{"a/\U0010FFFFz|a/\U0010FFFF/q|a/x|ab", "a/", "/"},
		{"日本/語|日本/x|日本語|😀|😀/1", "", "日本"},
		{"x//y|x/y|x", "x", "//"},
		{"é|e\u0301|ÿ|\u0080|Z|z", "", ""},
		{"p/1|p/2|p/3|q", "p/", ""},
	}
	for _, s := range seeds {
		f.Add(s.keys, s.prefix, s.delim)
	}
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(f.TempDir(), "meta.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, keyList, prefix, delim string) {
		if !text(prefix) || !text(delim) {
			t.Skip()
		}
		seen := map[string]bool{}
		var keys []string
		for _, k := range strings.Split(keyList, "|") {
			if k != "" && text(k) && len(k) <= 1024 && !seen[k] && len(keys) < 24 {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		ctx := context.Background()
		bucket := fmt.Sprintf("fuzz%d", n.Add(1))
		if _, err := s.CreateBucket(ctx, meta.Bucket{Name: bucket, Owner: "o", Location: "l"}); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if _, err := s.PutObject(ctx, meta.Object{Bucket: bucket, Key: k}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, max := range []int{1, 2, 1000} {
			metatest.CheckPagination(t, s, bucket, keys, prefix, delim, max)
		}
	})
}

func text(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
