package filter

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/events"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func prefix(v string) FilterRule { return FilterRule{Name: "prefix", Value: v} }
func suffix(v string) FilterRule { return FilterRule{Name: "suffix", Value: v} }

func TestMatch(t *testing.T) {
	put := func(key string) Object { return Object{EventName: events.ObjectCreatedPut, Key: key} }
	cases := []struct {
		name string
		rule Rule
		obj  Object
		want bool
	}{
		// Event patterns.
		{"wildcard category", Rule{Events: []string{"s3:ObjectCreated:*"}}, put("a"), true},
		{"wildcard other action", Rule{Events: []string{"s3:ObjectCreated:*"}}, Object{EventName: events.ObjectCreatedCompleteMultipartUpload, Key: "a"}, true},
		{"wildcard other category", Rule{Events: []string{"s3:ObjectCreated:*"}}, Object{EventName: events.ObjectRemovedDelete, Key: "a"}, false},
		{"removed wildcard skips lifecycle expiration", Rule{Events: []string{"s3:ObjectRemoved:*"}}, Object{EventName: events.LifecycleExpirationDelete, Key: "a"}, false},
		{"exact name", Rule{Events: []string{"s3:ObjectRemoved:DeleteMarkerCreated"}}, Object{EventName: events.ObjectRemovedDeleteMarkerCreated, Key: "a"}, true},
		{"exact name, other action", Rule{Events: []string{"s3:ObjectRemoved:Delete"}}, Object{EventName: events.ObjectRemovedDeleteMarkerCreated, Key: "a"}, false},
		{"without s3: prefix", Rule{Events: []string{"ObjectCreated:Put"}}, put("a"), true},
		{"any of several", Rule{Events: []string{"s3:ObjectRemoved:*", "s3:ObjectCreated:Copy", "s3:ObjectCreated:Put"}}, put("a"), true},
		{"action-less name", Rule{Events: []string{"s3:LifecycleTransition"}}, Object{EventName: events.LifecycleTransition, Key: "a"}, true},
		{"no events", Rule{}, put("a"), false},
		{"unknown pattern matches nothing", Rule{Events: []string{"s3:*"}}, put("a"), false},

		// Key filters: AWS semantics, case-sensitive, both must hold.
		{"prefix", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("images/")}}, put("images/cat.jpg"), true},
		{"prefix miss", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("images/")}}, put("docs/cat.jpg"), false},
		{"prefix is case-sensitive", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("images/")}}, put("Images/cat.jpg"), false},
		{"suffix", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{suffix(".jpg")}}, put("a/b.jpg"), true},
		{"suffix is case-sensitive", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{suffix(".jpg")}}, put("a/b.JPG"), false},
		{"prefix and suffix", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("images/"), suffix(".jpg")}}, put("images/b.jpg"), true},
		{"prefix but not suffix", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("images/"), suffix(".jpg")}}, put("images/b.png"), false},
		{"suffix but not prefix", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("images/"), suffix(".jpg")}}, put("docs/b.jpg"), false},
		{"rule names are case-insensitive", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{{Name: "Prefix", Value: "a/"}, {Name: "SUFFIX", Value: ".x"}}}, put("a/b.x"), true},
		{"prefix and suffix may share bytes", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("ab"), suffix("bc")}}, put("abc"), true},
		{"key with spaces is the real key", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("my photos/")}}, put("my photos/x"), true},
		{"unknown key rule matches nothing", Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{{Name: "regex", Value: ".*"}}}, put("a"), false},

		// Ceph tag and metadata filters: all listed pairs must match.
		{"tags all present", Rule{Events: []string{"s3:ObjectCreated:*"}, Tags: []FilterRule{{"team", "imaging"}, {"project", "blue"}}},
			Object{EventName: events.ObjectCreatedPut, Key: "a", Tags: map[string]string{"team": "imaging", "project": "blue", "x": "y"}}, true},
		{"tag value differs", Rule{Events: []string{"s3:ObjectCreated:*"}, Tags: []FilterRule{{"team", "imaging"}}},
			Object{EventName: events.ObjectCreatedPut, Key: "a", Tags: map[string]string{"team": "Imaging"}}, false},
		{"tag missing", Rule{Events: []string{"s3:ObjectCreated:*"}, Tags: []FilterRule{{"team", "imaging"}, {"project", "blue"}}},
			Object{EventName: events.ObjectCreatedPut, Key: "a", Tags: map[string]string{"team": "imaging"}}, false},
		{"tag filter, untagged object", Rule{Events: []string{"s3:ObjectCreated:*"}, Tags: []FilterRule{{"team", "imaging"}}}, put("a"), false},
		{"metadata with x-amz-meta- and case", Rule{Events: []string{"s3:ObjectCreated:*"}, Metadata: []FilterRule{{"X-Amz-Meta-Camera", "x100"}}},
			Object{EventName: events.ObjectCreatedPut, Key: "a", Metadata: map[string]string{"camera": "x100"}}, true},
		{"metadata value is case-sensitive", Rule{Events: []string{"s3:ObjectCreated:*"}, Metadata: []FilterRule{{"camera", "x100"}}},
			Object{EventName: events.ObjectCreatedPut, Key: "a", Metadata: map[string]string{"x-amz-meta-camera": "X100"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.rule.Match(c.obj); got != c.want {
				t.Fatalf("Match = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMatchRecord(t *testing.T) {
	var rec events.Record
	rec.EventName = events.ObjectCreatedPut
	rec.SetObjectKey("images/my cat.jpg")
	rec.Sluice = &events.SluiceData{Tags: map[string]string{"team": "imaging"}, UserMetadata: map[string]string{"camera": "x100"}}
	r := Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []FilterRule{prefix("images/my "), suffix(".jpg")},
		Tags: []FilterRule{{"team", "imaging"}}, Metadata: []FilterRule{{"x-amz-meta-camera", "x100"}}}
	if !r.MatchRecord(rec) {
		t.Error("record does not match")
	}
	rec.S3.Object.Key = "%zz"
	if r.MatchRecord(rec) {
		t.Error("record with a broken key matches")
	}
	if _, err := ObjectFromRecord(rec); !errors.Is(err, events.ErrInvalidKey) {
		t.Errorf("ObjectFromRecord error = %v", err)
	}
}

func TestValidate(t *testing.T) {
	ev := []string{"s3:ObjectCreated:*"}
	cases := []struct {
		name string
		rule Rule
		want error
	}{
		{"valid", Rule{Events: ev, Key: []FilterRule{prefix("a/"), suffix(".b")}, Tags: []FilterRule{{"t", "v"}}, Metadata: []FilterRule{{"x-amz-meta-m", "v"}}}, nil},
		{"valid, every known name", Rule{Events: func() []string {
			var s []string
			for _, n := range events.AllEventNames() {
				s = append(s, n.S3())
			}
			return s
		}()}, nil},
		{"no events", Rule{}, ErrNoEvents},
		{"unknown event", Rule{Events: []string{"s3:ObjectCreated:Bogus"}}, events.ErrUnknownEventName},
		{"bad wildcard", Rule{Events: []string{"s3:*"}}, events.ErrUnknownEventName},
		{"invalid rule name", Rule{Events: ev, Key: []FilterRule{{Name: "regex", Value: "x"}}}, ErrInvalidFilterName},
		{"empty rule name", Rule{Events: ev, Key: []FilterRule{{Value: "x"}}}, ErrInvalidFilterName},
		{"two prefixes", Rule{Events: ev, Key: []FilterRule{prefix("a"), prefix("b")}}, ErrDuplicateFilterRule},
		{"two suffixes, mixed case", Rule{Events: ev, Key: []FilterRule{suffix("a"), {Name: "Suffix", Value: "b"}}}, ErrDuplicateFilterRule},
		{"value too long", Rule{Events: ev, Key: []FilterRule{prefix(strings.Repeat("a", MaxValueLen+1))}}, ErrInvalidFilterValue},
		{"empty tag name", Rule{Events: ev, Tags: []FilterRule{{"", "v"}}}, ErrInvalidFilterName},
		{"repeated tag", Rule{Events: ev, Tags: []FilterRule{{"t", "a"}, {"t", "b"}}}, ErrDuplicateFilterRule},
		{"repeated metadata", Rule{Events: ev, Metadata: []FilterRule{{"m", "a"}, {"X-Amz-Meta-M", "b"}}}, ErrDuplicateFilterRule},
		{"bare metadata prefix", Rule{Events: ev, Metadata: []FilterRule{{"x-amz-meta-", "a"}}}, ErrInvalidFilterName},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.rule.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Validate = %v, want %v", err, c.want)
			}
		})
	}
}

// TestValidateConfig mirrors AWS's rule that the rules of one configuration
// must not overlap in both event type and key filter.
func TestValidateConfig(t *testing.T) {
	created, removed := []string{"s3:ObjectCreated:*"}, []string{"s3:ObjectRemoved:*"}
	cases := []struct {
		name string
		a, b Rule
		want error
	}{
		{"different prefixes", Rule{ID: "a", Events: created, Key: []FilterRule{prefix("images/")}}, Rule{ID: "b", Events: created, Key: []FilterRule{prefix("logs/")}}, nil},
		{"different suffixes", Rule{ID: "a", Events: created, Key: []FilterRule{suffix(".jpg")}}, Rule{ID: "b", Events: created, Key: []FilterRule{suffix(".png")}}, nil},
		{"same prefix, different suffixes", Rule{ID: "a", Events: created, Key: []FilterRule{prefix("i/"), suffix(".jpg")}}, Rule{ID: "b", Events: created, Key: []FilterRule{prefix("i/"), suffix(".png")}}, nil},
		{"same filter, different events", Rule{ID: "a", Events: created}, Rule{ID: "b", Events: removed}, nil},
		{"tag filters tell them apart", Rule{ID: "a", Events: created, Tags: []FilterRule{{"t", "1"}}}, Rule{ID: "b", Events: created, Tags: []FilterRule{{"t", "2"}}}, nil},
		{"prefix vs suffix", Rule{ID: "a", Events: created, Key: []FilterRule{prefix("images/")}}, Rule{ID: "b", Events: created, Key: []FilterRule{suffix(".jpg")}}, ErrOverlap},
		{"nested prefixes", Rule{ID: "a", Events: created, Key: []FilterRule{prefix("images")}}, Rule{ID: "b", Events: created, Key: []FilterRule{prefix("images/")}}, ErrOverlap},
		{"nested suffixes", Rule{ID: "a", Events: created, Key: []FilterRule{suffix("jpg")}}, Rule{ID: "b", Events: created, Key: []FilterRule{suffix(".jpg")}}, ErrOverlap},
		{"wildcard vs exact", Rule{ID: "a", Events: created}, Rule{ID: "b", Events: []string{"s3:ObjectCreated:Put"}}, ErrOverlap},
		{"invalid rule", Rule{ID: "a", Events: created}, Rule{ID: "b"}, ErrNoEvents},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateConfig(c.a, c.b)
			if c.want == nil {
				if err != nil {
					t.Fatalf("ValidateConfig: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("ValidateConfig = %v, want %v", err, c.want)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	r := Rule{Events: []string{"s3:ObjectRemoved:*", "s3:ObjectCreated:*"}, Key: []FilterRule{prefix("images/"), suffix(".jpg")},
		Metadata: []FilterRule{{"x-amz-meta-camera", "x100"}}}
	o := Object{EventName: events.ObjectCreatedPut, Key: "images/2024/cat.jpg", Metadata: map[string]string{"camera": "x100", "lens": "23mm"}}
	for b.Loop() {
		if !r.Match(o) {
			b.Fatal("no match")
		}
	}
}
