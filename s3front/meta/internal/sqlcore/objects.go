package sqlcore

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sluice-io/sluice/s3front/meta"
)

// emit calls fn for ch and inserts the returned messages into the outbox.
func (s *Store) emit(ctx context.Context, tx Tx, st *txState, fn meta.EventFunc, ch meta.Change) error {
	if fn == nil {
		return nil
	}
	msgs, err := fn(ctx, ch)
	if err != nil {
		return fmt.Errorf("event func: %w", err)
	}
	now := toMicros(s.now())
	for _, m := range msgs {
		if m.ID == "" || m.Subject == "" {
			return fmt.Errorf("%w: outbox message needs an ID and a Subject", meta.ErrInvalidArgument)
		}
		if err := checkFields("outbox message", "ID", m.ID, "Subject", m.Subject); err != nil {
			return err
		}
		h, err := encodeHeaders(m.Headers)
		if err != nil {
			return err
		}
		body := m.Body
		if body == nil {
			body = []byte{}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, subject, headers, body, created_at) VALUES (?, ?, ?, ?, ?)`,
			m.ID, m.Subject, h, body, now); err != nil {
			return err
		}
		st.outboxRows++
	}
	return nil
}

// versionRow loads one version; found is false when it does not exist.
func (s *Store) versionRow(ctx context.Context, tx Tx, bucket, key, versionID string) (objectRow, bool, error) {
	if checkText("key", key) != nil || checkText("version id", versionID) != nil {
		return objectRow{}, false, nil // cannot exist
	}
	r, err := scanObject(tx.QueryRow(ctx, `SELECT `+objectCols+` FROM objects WHERE bucket = ? AND key = ? AND version_id = ?`, bucket, key, versionID))
	if s.b.IsNoRows(err) {
		return r, false, nil
	}
	return r, err == nil, err
}

// latestRow loads the latest version (possibly a delete marker).
func (s *Store) latestRow(ctx context.Context, tx Tx, bucket, key string) (objectRow, bool, error) {
	if checkText("key", key) != nil {
		return objectRow{}, false, nil // cannot exist
	}
	r, err := scanObject(tx.QueryRow(ctx, `SELECT `+objectCols+` FROM objects WHERE bucket = ? AND key = ? AND is_latest`, bucket, key))
	if s.b.IsNoRows(err) {
		return r, false, nil
	}
	return r, err == nil, err
}

// resolve loads the addressed version with GetObject's error semantics.
func (s *Store) resolve(ctx context.Context, tx Tx, bucket, key, versionID string) (objectRow, error) {
	var (
		r     objectRow
		found bool
		err   error
	)
	if versionID == "" {
		r, found, err = s.latestRow(ctx, tx, bucket, key)
	} else {
		r, found, err = s.versionRow(ctx, tx, bucket, key, versionID)
	}
	switch {
	case err != nil:
		return r, err
	case !found && versionID == "":
		return r, fmt.Errorf("%w: %s/%s", meta.ErrNoSuchKey, bucket, key)
	case !found:
		return r, fmt.Errorf("%w: %s/%s version %s", meta.ErrNoSuchVersion, bucket, key, versionID)
	case r.IsDeleteMarker:
		return r, &meta.DeleteMarkerError{Bucket: bucket, Key: key, VersionID: r.VersionID, LastModified: r.LastModified, Explicit: versionID != ""}
	}
	return r, nil
}

// insertVersion writes obj as the new latest version of its key in bucket b and
// returns the data displaced by a replaced "null" version. It assigns VersionID,
// Sequencer, IsLatest and LastModified.
func (s *Store) insertVersion(ctx context.Context, tx Tx, b meta.Bucket, obj *meta.Object, seq uint64) ([]meta.DataRef, error) {
	obj.Bucket = b.Name
	obj.IsLatest = true
	obj.Sequencer = meta.FormatSequencer(seq)
	obj.LastModified = normTime(obj.LastModified, s.now)
	if obj.IsDeleteMarker {
		obj.Size, obj.ETag, obj.DataKey, obj.Location, obj.Parts, obj.PartsCount = 0, "", "", "", nil, 0
	}
	var displaced []meta.DataRef
	if b.Versioning == meta.VersioningEnabled {
		obj.VersionID = newVersionID(seq)
	} else {
		obj.VersionID = meta.NullVersion
		var err error
		if displaced, err = s.deleteNullVersion(ctx, tx, b.Name, obj.Key); err != nil {
			return nil, err
		}
	}
	// A bucket whose versioning was never enabled holds only "null" versions,
	// one per key at most, and that one was just deleted: no other version
	// can be the latest.
	if b.Versioning != meta.VersioningUnset {
		if _, err := tx.Exec(ctx, `UPDATE objects SET is_latest = FALSE WHERE bucket = ? AND key = ? AND is_latest`, b.Name, obj.Key); err != nil {
			return nil, err
		}
	}
	args, err := objectArgs(obj, seq, seq)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO objects (`+objectCols+`) VALUES (`+objectPlaceholders+`)`, args...); err != nil {
		return nil, err
	}
	return subtractRefs(displaced, obj.DataRefs()), nil
}

// deleteNullVersion deletes the "null" version of key, if any, in one statement
// and returns the data it referenced.
func (s *Store) deleteNullVersion(ctx context.Context, tx Tx, bucket, key string) ([]meta.DataRef, error) {
	var (
		o   meta.Object
		pts string
	)
	err := tx.QueryRow(ctx, `DELETE FROM objects WHERE bucket = ? AND key = ? AND version_id = ? RETURNING location, data_key, parts`,
		bucket, key, meta.NullVersion).Scan(&o.Location, &o.DataKey, &pts)
	switch {
	case s.b.IsNoRows(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	if o.Parts, err = decodeParts(pts); err != nil {
		return nil, err
	}
	return o.DataRefs(), nil
}

// subtractRefs returns refs not present in keep.
func subtractRefs(refs, keep []meta.DataRef) []meta.DataRef {
	if len(refs) == 0 {
		return nil
	}
	kept := make(map[meta.DataRef]bool, len(keep))
	for _, k := range keep {
		kept[k] = true
	}
	var out []meta.DataRef
	for _, r := range refs {
		if !kept[r] {
			out = append(out, r)
		}
	}
	return out
}

// removeVersion deletes a version; if it was the latest, the newest remaining
// version of the key becomes the latest.
func (s *Store) removeVersion(ctx context.Context, tx Tx, r objectRow) error {
	if _, err := tx.Exec(ctx, `DELETE FROM objects WHERE bucket = ? AND key = ? AND version_id = ?`, r.Bucket, r.Key, r.VersionID); err != nil {
		return err
	}
	if !r.IsLatest {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE objects SET is_latest = TRUE WHERE bucket = ? AND key = ? AND version_id =
(SELECT version_id FROM objects WHERE bucket = ? AND key = ? ORDER BY created_seq DESC LIMIT 1)`, r.Bucket, r.Key, r.Bucket, r.Key)
	return err
}

// lockObject loads and share-locks the bucket and serializes writers of the key.
func (s *Store) lockObject(ctx context.Context, tx Tx, bucket, key string) (meta.Bucket, error) {
	b, err := s.bucketRow(ctx, tx, bucket, LockShare)
	if err != nil {
		return b, err
	}
	return b, s.b.LockKey(ctx, tx, bucket, key)
}

// MaxKeyLen is the longest object key S3 allows, in bytes.
const MaxKeyLen = 1024

// checkKey rejects keys both backends cannot store alike: empty, longer than
// MaxKeyLen, not UTF-8, or holding NUL (which PostgreSQL text cannot hold).
func checkKey(bucket, key string) error {
	switch {
	case bucket == "" || key == "":
		return fmt.Errorf("%w: empty bucket or key", meta.ErrInvalidArgument)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: key longer than %d bytes", meta.ErrInvalidArgument, MaxKeyLen)
	}
	return checkText("key", key)
}

// checkText rejects strings that are not UTF-8 or hold NUL.
func checkText(what, s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s is not UTF-8 text without NUL", meta.ErrInvalidArgument, what)
	}
	return nil
}

// checkFields rejects name/value pairs holding non-UTF-8 text or NUL, which
// PostgreSQL would refuse and SQLite would store: both backends must agree.
func checkFields(what string, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := checkText(what+" "+kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func checkObject(o *meta.Object) error {
	if err := checkKey(o.Bucket, o.Key); err != nil {
		return err
	}
	if err := checkFields("object", "ETag", o.ETag, "ContentType", o.ContentType, "StorageClass", o.StorageClass,
		"Location", o.Location, "DataKey", o.DataKey, "Owner", o.Owner, "ReplicationStatus", o.ReplicationStatus); err != nil {
		return err
	}
	for _, p := range o.Parts {
		if err := checkPart(&p); err != nil {
			return err
		}
	}
	return nil
}

func checkPart(p *meta.Part) error {
	return checkFields("part", "ETag", p.ETag, "Location", p.Location, "DataKey", p.DataKey)
}

// PutObject implements meta.ObjectStore.
func (s *Store) PutObject(ctx context.Context, obj meta.Object, fn meta.EventFunc) (meta.PutResult, error) {
	if err := checkObject(&obj); err != nil {
		return meta.PutResult{}, err
	}
	obj.IsDeleteMarker = false
	var res meta.PutResult
	err := s.write(ctx, "put object", func(tx Tx, st *txState) error {
		o := obj
		b, err := s.lockObject(ctx, tx, o.Bucket, o.Key)
		if err != nil {
			return err
		}
		seq, err := s.b.NextSequencer(ctx, tx)
		if err != nil {
			return err
		}
		displaced, err := s.insertVersion(ctx, tx, b, &o, seq)
		if err != nil {
			return err
		}
		if err := s.emit(ctx, tx, st, fn, meta.Change{Kind: meta.ChangeCreated, Object: o}); err != nil {
			return err
		}
		res = meta.PutResult{Object: o, Displaced: displaced}
		return nil
	})
	return res, err
}

// GetObject implements meta.ObjectStore. It first reads the version alone, in
// one statement: a version row implies its bucket exists (a foreign key, and
// DeleteBucket refuses a bucket with versions). Only when there is none does it
// read bucket and version in one snapshot to tell which error applies.
func (s *Store) GetObject(ctx context.Context, bucket, key, versionID string) (meta.Object, error) {
	var (
		r     objectRow
		found bool
	)
	err := s.readOne(ctx, "get object", func(tx Tx) error {
		var err error
		if versionID == "" {
			r, found, err = s.latestRow(ctx, tx, bucket, key)
		} else {
			r, found, err = s.versionRow(ctx, tx, bucket, key, versionID)
		}
		return err
	})
	switch {
	case err != nil:
		return meta.Object{}, err
	case found && r.IsDeleteMarker:
		return meta.Object{}, &meta.DeleteMarkerError{Bucket: bucket, Key: key, VersionID: r.VersionID, LastModified: r.LastModified, Explicit: versionID != ""}
	case found:
		return r.Object, nil
	}
	var o meta.Object
	err = s.read(ctx, "get object", func(tx Tx) error {
		if _, err := s.bucketRow(ctx, tx, bucket, LockNone); err != nil {
			return err
		}
		r, err := s.resolve(ctx, tx, bucket, key, versionID)
		o = r.Object
		return err
	})
	if err != nil {
		return meta.Object{}, err
	}
	return o, nil
}

// DeleteObject implements meta.ObjectStore.
func (s *Store) DeleteObject(ctx context.Context, bucket, key, versionID string, fn meta.EventFunc, opts ...meta.DeleteOption) (meta.DeleteResult, error) {
	if err := checkKey(bucket, key); err != nil {
		return meta.DeleteResult{}, err
	}
	var dopts meta.DeleteOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&dopts)
		}
	}
	if err := checkText("replication status", dopts.MarkerReplicationStatus); err != nil {
		return meta.DeleteResult{}, err
	}
	var res meta.DeleteResult
	err := s.write(ctx, "delete object", func(tx Tx, st *txState) error {
		res = meta.DeleteResult{}
		b, err := s.lockObject(ctx, tx, bucket, key)
		if err != nil {
			return err
		}
		if versionID == "" && b.Versioning != meta.VersioningUnset {
			seq, err := s.b.NextSequencer(ctx, tx)
			if err != nil {
				return err
			}
			marker := meta.Object{Key: key, IsDeleteMarker: true, Owner: b.Owner,
				ReplicationStatus: dopts.MarkerReplicationStatus, Replication: dopts.MarkerReplication}
			displaced, err := s.insertVersion(ctx, tx, b, &marker, seq)
			if err != nil {
				return err
			}
			res = meta.DeleteResult{Kind: meta.ChangeDeleteMarkerCreated, VersionID: marker.VersionID, DeleteMarker: true, Object: marker, Displaced: displaced}
			return s.emit(ctx, tx, st, fn, meta.Change{Kind: res.Kind, Object: marker})
		}
		vid := versionID
		if vid == "" {
			vid = meta.NullVersion
		}
		r, found, err := s.versionRow(ctx, tx, bucket, key, vid)
		if err != nil || !found {
			return err
		}
		seq, err := s.b.NextSequencer(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.removeVersion(ctx, tx, r); err != nil {
			return err
		}
		o := r.Object
		o.Sequencer = meta.FormatSequencer(seq)
		res = meta.DeleteResult{Kind: meta.ChangeDeleted, VersionID: o.VersionID, DeleteMarker: o.IsDeleteMarker, Object: o, Displaced: o.DataRefs()}
		return s.emit(ctx, tx, st, fn, meta.Change{Kind: res.Kind, Object: o})
	})
	if err != nil {
		return meta.DeleteResult{}, err
	}
	return res, nil
}

// PutObjectTags implements meta.ObjectStore.
func (s *Store) PutObjectTags(ctx context.Context, bucket, key, versionID string, tags map[string]string, fn meta.EventFunc) (meta.Object, error) {
	kind := meta.ChangeTagsPut
	if tags == nil {
		kind = meta.ChangeTagsDeleted
	}
	return s.setTags(ctx, "put object tags", bucket, key, versionID, tags, kind, fn)
}

// DeleteObjectTags implements meta.ObjectStore.
func (s *Store) DeleteObjectTags(ctx context.Context, bucket, key, versionID string, fn meta.EventFunc) (meta.Object, error) {
	return s.setTags(ctx, "delete object tags", bucket, key, versionID, nil, meta.ChangeTagsDeleted, fn)
}

func (s *Store) setTags(ctx context.Context, op, bucket, key, versionID string, tags map[string]string, kind meta.ChangeKind, fn meta.EventFunc) (meta.Object, error) {
	enc, err := encodeMap(tags)
	if err != nil {
		return meta.Object{}, fmt.Errorf("%w: tags: %v", meta.ErrInvalidArgument, err)
	}
	var o meta.Object
	err = s.write(ctx, op, func(tx Tx, st *txState) error {
		if _, err := s.lockObject(ctx, tx, bucket, key); err != nil {
			return err
		}
		r, err := s.resolve(ctx, tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		seq, err := s.b.NextSequencer(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE objects SET tags = ?, sequencer = ? WHERE bucket = ? AND key = ? AND version_id = ?`,
			enc, int64(seq), bucket, key, r.VersionID); err != nil {
			return err
		}
		o = r.Object
		o.Tags = nil
		if len(tags) > 0 {
			o.Tags = make(map[string]string, len(tags))
			for k, v := range tags {
				o.Tags[k] = v
			}
		}
		o.Sequencer = meta.FormatSequencer(seq)
		return s.emit(ctx, tx, st, fn, meta.Change{Kind: kind, Object: o})
	})
	if err != nil {
		return meta.Object{}, err
	}
	return o, nil
}
