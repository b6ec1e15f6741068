package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/s3front/meta"
)

// MaxPartNumber is the largest S3 part number.
const MaxPartNumber = 10000

// uploadRowFor loads an upload of bucket/key, optionally locking it.
func (s *Store) uploadRowFor(ctx context.Context, tx Tx, bucket, key, id string, mode LockMode) (uploadRow, error) {
	if checkText("key", key) != nil || checkText("upload id", id) != nil {
		return uploadRow{}, fmt.Errorf("%w: %q", meta.ErrNoSuchUpload, id) // cannot exist
	}
	r, err := scanUpload(tx.QueryRow(ctx, `SELECT `+uploadCols+` FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?`+s.lockClause(mode), id, bucket, key))
	if s.b.IsNoRows(err) {
		return r, fmt.Errorf("%w: %s", meta.ErrNoSuchUpload, id)
	}
	return r, err
}

func (s *Store) partsOf(ctx context.Context, tx Tx, id string, after, limit int) ([]meta.Part, error) {
	q := `SELECT ` + partCols + ` FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number`
	args := []any{id, after}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Part
	for rows.Next() {
		p, err := scanPart(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func partRef(p meta.Part, defaultLoc string) meta.DataRef {
	loc := p.Location
	if loc == "" {
		loc = defaultLoc
	}
	return meta.DataRef{Location: loc, Key: p.DataKey}
}

// CreateUpload implements meta.MultipartStore.
func (s *Store) CreateUpload(ctx context.Context, u meta.Upload) (meta.Upload, error) {
	if err := checkKey(u.Bucket, u.Key); err != nil {
		return u, err
	}
	if err := checkFields("upload", "ID", u.ID, "Owner", u.Owner, "ContentType", u.ContentType, "ChecksumAlgorithm", u.ChecksumAlgorithm,
		"ChecksumType", u.ChecksumType, "StorageClass", u.StorageClass, "Location", u.Location); err != nil {
		return u, err
	}
	if u.ID == "" {
		u.ID = randomHex(16)
	}
	u.Initiated = normTime(u.Initiated, s.now)
	headers, err := encodeMap(u.Headers)
	if err != nil {
		return u, err
	}
	um, err := encodeMap(u.UserMetadata)
	if err != nil {
		return u, err
	}
	tags, err := encodeMap(u.Tags)
	if err != nil {
		return u, err
	}
	err = s.write(ctx, "create upload", func(tx Tx, _ *txState) error {
		if _, err := s.bucketRow(ctx, tx, u.Bucket, LockShare); err != nil {
			return err
		}
		seq, err := s.b.NextSequencer(ctx, tx)
		if err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `INSERT INTO uploads (`+uploadCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (upload_id) DO NOTHING`,
			u.ID, u.Bucket, u.Key, int64(seq), u.Owner, u.ContentType, headers, um, tags,
			u.ChecksumAlgorithm, u.ChecksumType, u.StorageClass, u.Location, toMicros(u.Initiated))
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: upload id %q already exists", meta.ErrInvalidArgument, u.ID)
		}
		return err
	})
	return u, err
}

// GetUpload implements meta.MultipartStore.
func (s *Store) GetUpload(ctx context.Context, bucket, key, uploadID string) (meta.Upload, error) {
	var u meta.Upload
	err := s.read(ctx, "get upload", func(tx Tx) error {
		r, err := s.uploadRowFor(ctx, tx, bucket, key, uploadID, LockNone)
		u = r.Upload
		return err
	})
	if err != nil {
		return meta.Upload{}, err
	}
	return u, nil
}

// PutPart implements meta.MultipartStore.
func (s *Store) PutPart(ctx context.Context, bucket, key, uploadID string, p meta.Part) ([]meta.DataRef, error) {
	if p.PartNumber < 1 || p.PartNumber > MaxPartNumber {
		return nil, fmt.Errorf("%w: part number %d", meta.ErrInvalidArgument, p.PartNumber)
	}
	if err := checkPart(&p); err != nil {
		return nil, err
	}
	p.LastModified = normTime(p.LastModified, s.now)
	sums, err := encodeMap(p.Checksums)
	if err != nil {
		return nil, err
	}
	var replaced []meta.DataRef
	err = s.write(ctx, "put part", func(tx Tx, _ *txState) error {
		replaced = nil
		u, err := s.uploadRowFor(ctx, tx, bucket, key, uploadID, LockShare)
		if err != nil {
			return err
		}
		old, err := scanPart(tx.QueryRow(ctx, `SELECT `+partCols+` FROM parts WHERE upload_id = ? AND part_number = ?`+s.lockClause(LockUpdate), uploadID, p.PartNumber))
		switch {
		case s.b.IsNoRows(err):
		case err != nil:
			return err
		case old.DataKey != "":
			replaced = subtractRefs([]meta.DataRef{partRef(old, u.Location)}, []meta.DataRef{partRef(p, u.Location)})
		}
		_, err = tx.Exec(ctx, `INSERT INTO parts (upload_id, `+partCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag, checksums = excluded.checksums,
location = excluded.location, data_key = excluded.data_key, last_modified = excluded.last_modified`,
			uploadID, p.PartNumber, p.Size, p.ETag, sums, p.Location, p.DataKey, toMicros(p.LastModified))
		return err
	})
	if err != nil {
		return nil, err
	}
	return replaced, nil
}

// ListParts implements meta.MultipartStore.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (meta.ListPartsResult, error) {
	var res meta.ListPartsResult
	err := s.read(ctx, "list parts", func(tx Tx) error {
		res = meta.ListPartsResult{}
		if _, err := s.uploadRowFor(ctx, tx, bucket, key, uploadID, LockNone); err != nil {
			return err
		}
		if max <= 0 {
			return nil
		}
		parts, err := s.partsOf(ctx, tx, uploadID, marker, max+1)
		if err != nil {
			return err
		}
		if len(parts) > max {
			parts = parts[:max]
			res.IsTruncated = true
			res.NextPartNumberMarker = parts[max-1].PartNumber
		}
		res.Parts = parts
		return nil
	})
	return res, err
}

// ListUploads implements meta.MultipartStore.
func (s *Store) ListUploads(ctx context.Context, in meta.ListUploadsInput) (meta.ListUploadsResult, error) {
	if err := checkListText(in.Prefix, in.Delimiter, in.KeyMarker, in.UploadIDMarker); err != nil {
		return meta.ListUploadsResult{}, err
	}
	var res meta.ListUploadsResult
	err := s.read(ctx, "list uploads", func(tx Tx) error {
		if _, err := s.bucketRow(ctx, tx, in.Bucket, LockNone); err != nil {
			return err
		}
		g := newGrouper(in.Prefix, in.Delimiter, in.KeyMarker, in.MaxUploads)
		var (
			startSeq int64
			hasStart bool
		)
		if in.UploadIDMarker != "" && in.KeyMarker != "" && !g.skipping(in.KeyMarker) && strings.HasPrefix(in.KeyMarker, in.Prefix) {
			r, err := s.uploadRowFor(ctx, tx, in.Bucket, in.KeyMarker, in.UploadIDMarker, LockNone)
			switch {
			case err == nil:
				startSeq, hasStart = r.seq, true
			case !isNoUpload(err):
				return err
			}
		}
		l := &keyedLister[uploadRow]{
			g: g,
			within: func(key string, seq int64) fetchFunc[uploadRow] {
				return s.uploads(ctx, tx, `SELECT `+uploadCols+` FROM uploads WHERE bucket = ? AND key = ? AND seq > ? ORDER BY seq LIMIT ?`,
					in.Bucket, key, seq)
			},
			after: func(b bound) fetchFunc[uploadRow] {
				return s.uploads(ctx, tx, `SELECT `+uploadCols+` FROM uploads WHERE bucket = ? AND key `+b.op()+` ? ORDER BY key, seq LIMIT ?`,
					in.Bucket, b.v)
			},
			key: func(r uploadRow) string { return r.Key },
			seq: func(r uploadRow) int64 { return r.seq },
		}
		if err := l.run(g.start(in.KeyMarker), in.KeyMarker, startSeq, hasStart); err != nil {
			return err
		}
		res = meta.ListUploadsResult{CommonPrefixes: g.prefixes, IsTruncated: g.truncated}
		for _, r := range l.out {
			res.Uploads = append(res.Uploads, r.Upload)
		}
		if g.truncated {
			res.NextKeyMarker = g.last
			if !g.lastIsPrefix && len(res.Uploads) > 0 {
				res.NextUploadIDMarker = res.Uploads[len(res.Uploads)-1].ID
			}
		}
		return nil
	})
	return res, err
}

func isNoUpload(err error) bool { return errors.Is(err, meta.ErrNoSuchUpload) }

// uploads returns a fetchFunc running q with args plus the batch limit.
func (s *Store) uploads(ctx context.Context, tx Tx, q string, args ...any) fetchFunc[uploadRow] {
	return func(limit int, each func(uploadRow) bool) error {
		rows, err := tx.Query(ctx, q, append(args, limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanUpload(rows)
			if err != nil {
				return err
			}
			if !each(r) {
				return nil
			}
		}
		return rows.Err()
	}
}

// CompleteUpload implements meta.MultipartStore.
func (s *Store) CompleteUpload(ctx context.Context, uploadID string, obj meta.Object, fn meta.EventFunc) (meta.PutResult, error) {
	if err := checkObject(&obj); err != nil {
		return meta.PutResult{}, err
	}
	var res meta.PutResult
	err := s.write(ctx, "complete upload", func(tx Tx, st *txState) error {
		o := obj
		o.IsDeleteMarker = false
		o.Parts = append([]meta.Part(nil), obj.Parts...)
		b, err := s.lockObject(ctx, tx, o.Bucket, o.Key)
		if err != nil {
			return err
		}
		u, err := s.uploadRowFor(ctx, tx, o.Bucket, o.Key, uploadID, LockUpdate)
		if err != nil {
			return err
		}
		stored, err := s.partsOf(ctx, tx, uploadID, 0, 0)
		if err != nil {
			return err
		}
		byNum := make(map[int]meta.Part, len(stored))
		for _, p := range stored {
			byNum[p.PartNumber] = p
		}
		if o.Location == "" {
			o.Location = u.Location
		}
		used := make(map[int]bool, len(o.Parts))
		for i, p := range o.Parts {
			sp, ok := byNum[p.PartNumber]
			if !ok || used[p.PartNumber] {
				return fmt.Errorf("%w: part %d", meta.ErrInvalidPart, p.PartNumber)
			}
			if p.DataKey == "" {
				p.DataKey, p.Location = sp.DataKey, sp.Location
			} else if p.DataKey != sp.DataKey {
				return fmt.Errorf("%w: part %d data key differs", meta.ErrInvalidPart, p.PartNumber)
			}
			if p.Location == "" {
				p.Location = u.Location
			}
			if p.LastModified.IsZero() {
				p.LastModified = sp.LastModified
			}
			used[p.PartNumber] = true
			o.Parts[i] = p
		}
		if o.PartsCount == 0 {
			o.PartsCount = len(o.Parts)
		}
		seq, err := s.b.NextSequencer(ctx, tx)
		if err != nil {
			return err
		}
		displaced, err := s.insertVersion(ctx, tx, b, &o, seq)
		if err != nil {
			return err
		}
		var unused []meta.DataRef
		for _, p := range stored {
			if !used[p.PartNumber] && p.DataKey != "" {
				unused = append(unused, partRef(p, u.Location))
			}
		}
		displaced = append(displaced, subtractRefs(unused, o.DataRefs())...)
		if _, err := tx.Exec(ctx, `DELETE FROM parts WHERE upload_id = ?`, uploadID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM uploads WHERE upload_id = ?`, uploadID); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, st, fn, meta.Change{Kind: meta.ChangeCreated, Object: o}); err != nil {
			return err
		}
		res = meta.PutResult{Object: o, Displaced: displaced}
		return nil
	})
	if err != nil {
		return meta.PutResult{}, err
	}
	return res, nil
}

// AbortUpload implements meta.MultipartStore.
func (s *Store) AbortUpload(ctx context.Context, bucket, key, uploadID string) ([]meta.DataRef, error) {
	var refs []meta.DataRef
	err := s.write(ctx, "abort upload", func(tx Tx, _ *txState) error {
		refs = nil
		u, err := s.uploadRowFor(ctx, tx, bucket, key, uploadID, LockUpdate)
		if err != nil {
			return err
		}
		parts, err := s.partsOf(ctx, tx, uploadID, 0, 0)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if p.DataKey != "" {
				refs = append(refs, partRef(p, u.Location))
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM parts WHERE upload_id = ?`, uploadID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM uploads WHERE upload_id = ?`, uploadID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return refs, nil
}
