package meta_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sluice-io/sluice/s3front/meta"
)

func TestDeleteMarkerErrorIs(t *testing.T) {
	tests := []struct {
		explicit  bool
		noSuchKey bool
		wrapped   bool
	}{
		{explicit: false, noSuchKey: true},
		{explicit: true, noSuchKey: false},
		{explicit: false, noSuchKey: true, wrapped: true},
	}
	for _, tc := range tests {
		var err error = &meta.DeleteMarkerError{Bucket: "b", Key: "k", VersionID: "v1", Explicit: tc.explicit}
		if tc.wrapped {
			err = fmt.Errorf("ctx: %w", err)
		}
		if !errors.Is(err, meta.ErrDeleteMarker) {
			t.Errorf("%+v: not ErrDeleteMarker", tc)
		}
		if got := errors.Is(err, meta.ErrNoSuchKey); got != tc.noSuchKey {
			t.Errorf("%+v: Is(ErrNoSuchKey) = %v", tc, got)
		}
		if errors.Is(err, meta.ErrNoSuchVersion) {
			t.Errorf("%+v: matches ErrNoSuchVersion", tc)
		}
		var dm *meta.DeleteMarkerError
		if !errors.As(err, &dm) || dm.VersionID != "v1" || err.Error() == "" {
			t.Errorf("%+v: As failed", tc)
		}
	}
}

func TestFormatSequencer(t *testing.T) {
	tests := []struct {
		v    uint64
		want string
	}{
		{0, "0000000000000000"},
		{1, "0000000000000001"},
		{255, "00000000000000FF"},
		{1<<64 - 1, "FFFFFFFFFFFFFFFF"},
	}
	for _, tc := range tests {
		if got := meta.FormatSequencer(tc.v); got != tc.want {
			t.Errorf("FormatSequencer(%d) = %q, want %q", tc.v, got, tc.want)
		}
	}
	// Lexical order is numeric order.
	if meta.FormatSequencer(9) >= meta.FormatSequencer(10) || meta.FormatSequencer(0xFF) >= meta.FormatSequencer(0x100) {
		t.Error("lexical order differs from numeric order")
	}
}

func TestValidConfigKind(t *testing.T) {
	for _, k := range meta.ConfigKinds {
		if !meta.ValidConfigKind(k) {
			t.Errorf("%q not valid", k)
		}
	}
	for _, k := range []string{"", "website", "Tagging"} {
		if meta.ValidConfigKind(k) {
			t.Errorf("%q valid", k)
		}
	}
}

func TestDataRefs(t *testing.T) {
	tests := []struct {
		name string
		obj  meta.Object
		want []meta.DataRef
	}{
		{"none", meta.Object{Location: "l"}, nil},
		{"single", meta.Object{Location: "l", DataKey: "d"}, []meta.DataRef{{"l", "d"}}},
		{"parts", meta.Object{Location: "l", Parts: []meta.Part{{DataKey: "p1"}, {DataKey: "p2", Location: "x"}, {}}},
			[]meta.DataRef{{"l", "p1"}, {"x", "p2"}}},
		{"part sharing the object's data", meta.Object{Location: "l", DataKey: "d", Parts: []meta.Part{{DataKey: "d"}, {DataKey: "d", Location: "x"}}},
			[]meta.DataRef{{"l", "d"}, {"x", "d"}}},
	}
	for _, tc := range tests {
		if got := tc.obj.DataRefs(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: DataRefs = %v, want %v", tc.name, got, tc.want)
		}
	}
}
