package fs

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
)

var recordTests = []record{
	{},
	{size: 5, modTime: 1, etag: "d41d8cd98f00b204e9800998ecf8427e", key: "a"},
	{size: 1 << 40, modTime: -1, etag: "x", key: "k\x00\xff", contentType: "text/plain",
		metadata: map[string]string{"a": "1", "b": "", "": "empty name", "ü": "\xff"}},
	{key: strings.Repeat("k", 1024), metadata: map[string]string{"long": strings.Repeat("v", 4096)}},
}

func TestRecordRoundTrip(t *testing.T) {
	for _, want := range recordTests {
		data := bytes.Repeat([]byte{7}, int(min(want.size, 3*tailRead))) // files shorter and longer than one tail read
		want.size = int64(len(data))
		file := want.appendTrailer(data)
		if len(file)-len(data) != want.trailerLen() {
			t.Errorf("trailer of %d bytes, trailerLen says %d", len(file)-len(data), want.trailerLen())
		}
		got, err := readRecord(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			t.Fatalf("readRecord(%+v): %v", want, err)
		}
		if !equalRecords(got, &want) {
			t.Errorf("readRecord = %+v, want %+v", got, want)
		}
	}
}

func equalRecords(a, b *record) bool {
	return a.size == b.size && a.modTime == b.modTime && a.etag == b.etag && a.key == b.key &&
		a.contentType == b.contentType && maps.Equal(a.metadata, b.metadata)
}

func TestReadRecordCorrupt(t *testing.T) {
	good := (&record{size: 3, etag: "e", key: "k"}).appendTrailer([]byte("abc"))
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		file []byte
	}{
		{"empty", nil},
		{"short", good[len(good)-10:]},
		{"bad magic", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
		{"bad checksum", mutate(func(b []byte) []byte { b[len(b)-12] ^= 1; return b })},
		{"record flipped", mutate(func(b []byte) []byte { b[4] ^= 1; return b })},
		{"extra data", append([]byte("x"), good...)},
		{"missing data", good[1:]},
		{"huge record length", mutate(func(b []byte) []byte { copy(b[len(b)-16:], []byte{0xff, 0xff, 0xff, 0xff}); return b })},
		{"plain file", []byte("just some data that is not an object file")},
	}
	for _, tc := range tests {
		if rec, err := readRecord(bytes.NewReader(tc.file), int64(len(tc.file))); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: readRecord = %+v, %v; want ErrCorrupt", tc.name, rec, err)
		}
	}
}

// FuzzDecodeRecord checks that decoding never panics or over-allocates and
// that whatever decodes re-encodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range recordTests {
		file := r.appendTrailer(nil)
		f.Add(file[:len(file)-footerLen])
	}
	f.Add([]byte{1})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeRecord error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		file := rec.appendTrailer(nil)
		again, err := decodeRecord(file[:len(file)-footerLen])
		if err != nil || !equalRecords(rec, again) {
			t.Fatalf("re-decoding %+v = %+v, %v", rec, again, err)
		}
	})
}
