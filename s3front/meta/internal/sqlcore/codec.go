package sqlcore

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

// objectCols lists the objects table columns in scanObject order.
const objectCols = `bucket, key, version_id, created_seq, sequencer, is_latest, is_delete_marker, size, etag,
content_type, headers, user_metadata, tags, checksums, storage_class, location, data_key, owner,
last_modified, replication_status, replication, parts_count, parts`

const objectPlaceholders = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

// uploadCols lists the uploads table columns in scanUpload order.
const uploadCols = `upload_id, bucket, key, seq, owner, content_type, headers, user_metadata, tags,
checksum_algorithm, checksum_type, storage_class, location, initiated`

// partCols lists the parts table columns in scanPart order.
const partCols = `part_number, size, etag, checksums, location, data_key, last_modified`

type scanner interface{ Scan(dest ...any) error }

func encodeMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeMap(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	return m, nil
}

func encodeHeaders(h map[string][]string) (string, error) {
	if len(h) == 0 {
		return "", nil
	}
	b, err := json.Marshal(h)
	return string(b), err
}

func decodeHeaders(s string) (map[string][]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string][]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode headers: %w", err)
	}
	return m, nil
}

// partJSON is the stored form of an object's part list.
type partJSON struct {
	N  int               `json:"n"`
	S  int64             `json:"s"`
	E  string            `json:"e,omitempty"`
	C  map[string]string `json:"c,omitempty"`
	L  string            `json:"l,omitempty"`
	K  string            `json:"k,omitempty"`
	LM int64             `json:"lm,omitempty"`
}

func encodeParts(ps []meta.Part) (string, error) {
	if len(ps) == 0 {
		return "", nil
	}
	js := make([]partJSON, len(ps))
	for i, p := range ps {
		js[i] = partJSON{N: p.PartNumber, S: p.Size, E: p.ETag, C: p.Checksums, L: p.Location, K: p.DataKey, LM: toMicros(p.LastModified)}
	}
	b, err := json.Marshal(js)
	return string(b), err
}

func decodeParts(s string) ([]meta.Part, error) {
	if s == "" {
		return nil, nil
	}
	var js []partJSON
	if err := json.Unmarshal([]byte(s), &js); err != nil {
		return nil, fmt.Errorf("decode parts: %w", err)
	}
	ps := make([]meta.Part, len(js))
	for i, j := range js {
		ps[i] = meta.Part{PartNumber: j.N, Size: j.S, ETag: j.E, Checksums: j.C, Location: j.L, DataKey: j.K}
		if j.LM != 0 {
			ps[i].LastModified = fromMicros(j.LM)
		}
	}
	return ps, nil
}

func toMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// normTime rounds t to the stored precision, defaulting to now.
func normTime(t time.Time, now func() time.Time) time.Time {
	if t.IsZero() {
		t = now()
	}
	return fromMicros(t.UnixMicro())
}

// objectArgs returns the insert arguments for o, in objectCols order.
func objectArgs(o *meta.Object, createdSeq uint64, seq uint64) ([]any, error) {
	headers, err := encodeMap(o.Headers)
	if err != nil {
		return nil, err
	}
	um, err := encodeMap(o.UserMetadata)
	if err != nil {
		return nil, err
	}
	tags, err := encodeMap(o.Tags)
	if err != nil {
		return nil, err
	}
	sums, err := encodeMap(o.Checksums)
	if err != nil {
		return nil, err
	}
	repl, err := encodeMap(o.Replication)
	if err != nil {
		return nil, err
	}
	parts, err := encodeParts(o.Parts)
	if err != nil {
		return nil, err
	}
	return []any{o.Bucket, o.Key, o.VersionID, int64(createdSeq), int64(seq), o.IsLatest, o.IsDeleteMarker,
		o.Size, o.ETag, o.ContentType, headers, um, tags, sums, o.StorageClass, o.Location, o.DataKey,
		o.Owner, toMicros(o.LastModified), o.ReplicationStatus, repl, o.PartsCount, parts}, nil
}

// objectRow is a scanned objects row.
type objectRow struct {
	meta.Object
	createdSeq int64
}

func scanObject(s scanner) (objectRow, error) {
	var (
		r                                  objectRow
		seq, lm                            int64
		headers, um, tags, sums, repl, pts string
	)
	o := &r.Object
	err := s.Scan(&o.Bucket, &o.Key, &o.VersionID, &r.createdSeq, &seq, &o.IsLatest, &o.IsDeleteMarker,
		&o.Size, &o.ETag, &o.ContentType, &headers, &um, &tags, &sums, &o.StorageClass, &o.Location,
		&o.DataKey, &o.Owner, &lm, &o.ReplicationStatus, &repl, &o.PartsCount, &pts)
	if err != nil {
		return r, err
	}
	o.Sequencer = meta.FormatSequencer(uint64(seq))
	o.LastModified = fromMicros(lm)
	if o.Headers, err = decodeMap(headers); err != nil {
		return r, err
	}
	if o.UserMetadata, err = decodeMap(um); err != nil {
		return r, err
	}
	if o.Tags, err = decodeMap(tags); err != nil {
		return r, err
	}
	if o.Checksums, err = decodeMap(sums); err != nil {
		return r, err
	}
	if o.Replication, err = decodeReplicationStatuses(repl); err != nil {
		return r, err
	}
	if o.Parts, err = decodeParts(pts); err != nil {
		return r, err
	}
	return r, nil
}

type uploadRow struct {
	meta.Upload
	seq int64
}

func scanUpload(s scanner) (uploadRow, error) {
	var (
		r                 uploadRow
		initiated         int64
		headers, um, tags string
	)
	u := &r.Upload
	err := s.Scan(&u.ID, &u.Bucket, &u.Key, &r.seq, &u.Owner, &u.ContentType, &headers, &um, &tags,
		&u.ChecksumAlgorithm, &u.ChecksumType, &u.StorageClass, &u.Location, &initiated)
	if err != nil {
		return r, err
	}
	u.Initiated = fromMicros(initiated)
	if u.Headers, err = decodeMap(headers); err != nil {
		return r, err
	}
	if u.UserMetadata, err = decodeMap(um); err != nil {
		return r, err
	}
	if u.Tags, err = decodeMap(tags); err != nil {
		return r, err
	}
	return r, nil
}

func scanPart(s scanner) (meta.Part, error) {
	var (
		p    meta.Part
		lm   int64
		sums string
	)
	if err := s.Scan(&p.PartNumber, &p.Size, &p.ETag, &sums, &p.Location, &p.DataKey, &lm); err != nil {
		return p, err
	}
	p.LastModified = fromMicros(lm)
	var err error
	p.Checksums, err = decodeMap(sums)
	return p, err
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// newVersionID returns a version id whose first 16 hex digits are the creation
// sequencer, so byte order of ids is creation order.
func newVersionID(seq uint64) string {
	return meta.FormatSequencer(seq) + upperHex(randomHex(4))
}

func upperHex(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// versionSeq extracts the creation sequencer from a store-generated version id.
func versionSeq(id string) (int64, bool) {
	if len(id) < 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(id[:16], 16, 63)
	if err != nil {
		return 0, false
	}
	return int64(v), true
}
