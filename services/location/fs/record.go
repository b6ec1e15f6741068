package fs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/sluice-io/sluice/services/location"
)

// An object file is the object's data followed by a metadata record and a
// fixed-size footer:
//
//	data | record | footer
//
//	footer (16 bytes): record length (uint32, big endian)
//	                   CRC-32C of the record (uint32, big endian)
//	                   magic "sluiceO1"
//
//	record: version (1 byte, = 1)
//	        size (uint64)            length of data
//	        modTime (int64)          Unix nanoseconds
//	        etag, key, contentType   each a uint32 length and the bytes
//	        metadata count (uint32), then each name and value as above,
//	        in name order
//
// Data and metadata live in one file so that one rename commits both: a
// separate sidecar could not be replaced together with the data, and a
// reader could pair new data with old metadata.
const (
	footerLen     = 16
	recordVersion = 1
	// maxRecordLen bounds a record; Put rejects larger metadata.
	maxRecordLen = 256 << 10
)

var (
	footerMagic = [8]byte{'s', 'l', 'u', 'i', 'c', 'e', 'O', '1'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

// ErrCorrupt means an object file is not in the format this driver writes
// (truncated, foreign, or damaged). Get, Stat and Compose return it wrapped.
var ErrCorrupt = errors.New("fs: corrupt object file")

// record is the metadata stored with an object.
type record struct {
	size        int64
	modTime     int64
	etag        string
	key         string
	contentType string
	metadata    map[string]string
}

// appendTrailer appends rec and the footer to b.
func (r *record) appendTrailer(b []byte) []byte {
	start := len(b)
	b = append(b, recordVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(r.size))
	b = binary.BigEndian.AppendUint64(b, uint64(r.modTime))
	for _, s := range []string{r.etag, r.key, r.contentType} {
		b = appendString(b, s)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.metadata)))
	for _, k := range slices.Sorted(maps.Keys(r.metadata)) {
		b = appendString(b, k)
		b = appendString(b, r.metadata[k])
	}
	rec := b[start:]
	b = binary.BigEndian.AppendUint32(b, uint32(len(rec)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(rec, castagnoli))
	return append(b, footerMagic[:]...)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// trailerLen is the number of bytes appendTrailer adds for rec.
func (r *record) trailerLen() int {
	n := 1 + 8 + 8 + 4*3 + len(r.etag) + len(r.key) + len(r.contentType) + 4
	for k, v := range r.metadata {
		n += 8 + len(k) + len(v)
	}
	return n + footerLen
}

// tailRead is how many bytes at the end of an object file readRecord reads
// first: the footer and, for all but unusually large metadata, the whole
// record, so one read usually suffices.
const tailRead = 4 << 10

// readRecord reads the record of the object file f of fileSize bytes. It
// returns an error wrapping ErrCorrupt if the trailer is malformed.
func readRecord(f io.ReaderAt, fileSize int64) (*record, error) {
	if fileSize < footerLen {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, fileSize)
	}
	var tailBuf [tailRead]byte
	tail := tailBuf[:min(int64(tailRead), fileSize)]
	if _, err := f.ReadAt(tail, fileSize-int64(len(tail))); err != nil {
		return nil, fmt.Errorf("read footer: %w", err)
	}
	footer := tail[len(tail)-footerLen:]
	if [8]byte(footer[8:]) != footerMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	n := int64(binary.BigEndian.Uint32(footer[:4]))
	if n > maxRecordLen || n > fileSize-footerLen {
		return nil, fmt.Errorf("%w: record length %d", ErrCorrupt, n)
	}
	var buf []byte
	if n <= int64(len(tail)-footerLen) {
		buf = tail[len(tail)-footerLen-int(n) : len(tail)-footerLen]
	} else {
		buf = make([]byte, n)
		if _, err := f.ReadAt(buf, fileSize-footerLen-n); err != nil {
			return nil, fmt.Errorf("read record: %w", err)
		}
	}
	if crc32.Checksum(buf, castagnoli) != binary.BigEndian.Uint32(footer[4:8]) {
		return nil, fmt.Errorf("%w: record checksum", ErrCorrupt)
	}
	rec, err := decodeRecord(buf)
	if err != nil {
		return nil, err
	}
	if rec.size != fileSize-footerLen-n {
		return nil, fmt.Errorf("%w: record says %d data bytes, file holds %d", ErrCorrupt, rec.size, fileSize-footerLen-n)
	}
	return rec, nil
}

// decodeRecord parses a record. It never panics; malformed input returns an
// error wrapping ErrCorrupt.
func decodeRecord(b []byte) (*record, error) {
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion {
		return nil, fmt.Errorf("%w: record version %d", ErrCorrupt, v)
	}
	r := &record{size: int64(d.uint64()), modTime: int64(d.uint64())}
	r.etag, r.key, r.contentType = d.string(), d.string(), d.string()
	count := d.uint32()
	if d.err == nil && count > 0 {
		if uint64(count) > uint64(len(d.b))/8 { // each entry takes at least 8 bytes
			return nil, fmt.Errorf("%w: %d metadata entries", ErrCorrupt, count)
		}
		r.metadata = make(map[string]string, count)
		for range count {
			k, v := d.string(), d.string()
			r.metadata[k] = v
		}
	}
	switch {
	case d.err != nil:
		return nil, d.err
	case len(d.b) != 0:
		return nil, fmt.Errorf("%w: %d trailing record bytes", ErrCorrupt, len(d.b))
	case r.size < 0:
		return nil, fmt.Errorf("%w: negative size", ErrCorrupt)
	case r.metadata != nil && len(r.metadata) != int(count):
		return nil, fmt.Errorf("%w: duplicate metadata names", ErrCorrupt)
	}
	return r, nil
}

// decoder reads big-endian fields, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: record truncated", ErrCorrupt)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) string() string {
	return string(d.take(uint64(d.uint32())))
}

// info converts r to the ObjectInfo the driver returns.
func (r *record) info() (oi location.ObjectInfo) {
	oi.Key, oi.Size, oi.ETag, oi.ContentType = r.key, r.size, r.etag, r.contentType
	if len(r.metadata) > 0 {
		oi.Metadata = maps.Clone(r.metadata)
	}
	oi.ModTime = time.Unix(0, r.modTime).UTC()
	return oi
}
