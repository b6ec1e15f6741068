package sqlcore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sluice-io/sluice/s3front/meta"
)

// destJSON is the stored form of one destination's state in the replication
// column: {"<destination>": {"status": ..., "sequencer": ..., "time": µs,
// "error": ...}, ...}. A value may also be a bare status string (the form
// PutObject writes from Object.Replication); both decode alike.
type destJSON struct {
	Status    string `json:"status"`
	Sequencer string `json:"sequencer,omitempty"`
	Time      int64  `json:"time,omitempty"`
	Error     string `json:"error,omitempty"`
}

// decodeReplication parses the replication column into per-destination state.
func decodeReplication(s string) (map[string]meta.DestinationStatus, error) {
	if s == "" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("decode replication: %w", err)
	}
	out := make(map[string]meta.DestinationStatus, len(raw))
	for dest, v := range raw {
		v = bytes.TrimSpace(v)
		if len(v) > 0 && v[0] == '"' {
			var st string
			if err := json.Unmarshal(v, &st); err != nil {
				return nil, fmt.Errorf("decode replication of %q: %w", dest, err)
			}
			out[dest] = meta.DestinationStatus{Status: st}
			continue
		}
		var d destJSON
		if err := json.Unmarshal(v, &d); err != nil {
			return nil, fmt.Errorf("decode replication of %q: %w", dest, err)
		}
		ds := meta.DestinationStatus{Status: d.Status, Sequencer: d.Sequencer, Error: d.Error}
		if d.Time != 0 {
			ds.Time = fromMicros(d.Time)
		}
		out[dest] = ds
	}
	return out, nil
}

// decodeReplicationStatuses parses the replication column into
// Object.Replication: destination → status.
func decodeReplicationStatuses(s string) (map[string]string, error) {
	ds, err := decodeReplication(s)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	out := make(map[string]string, len(ds))
	for dest, d := range ds {
		out[dest] = d.Status
	}
	return out, nil
}

// encodeReplication renders per-destination state for the replication column.
func encodeReplication(ds map[string]meta.DestinationStatus) (string, error) {
	if len(ds) == 0 {
		return "", nil
	}
	js := make(map[string]destJSON, len(ds))
	for dest, d := range ds {
		js[dest] = destJSON{Status: d.Status, Sequencer: d.Sequencer, Time: toMicros(d.Time), Error: d.Error}
	}
	b, err := json.Marshal(js)
	return string(b), err
}

// normResult rounds a result's time to the stored precision, so that a
// duplicate compares equal to the stored copy.
func normResult(d meta.DestinationStatus) meta.DestinationStatus {
	if !d.Time.IsZero() {
		d.Time = fromMicros(d.Time.UnixMicro())
	}
	return d
}

// validUpdate reports whether u can apply to anything.
func validUpdate(u *meta.ReplicationUpdate) bool {
	return u.Bucket != "" && u.Key != "" && u.Destination != "" && meta.ValidDestinationStatus(u.Result.Status) &&
		checkFields("replication", "Bucket", u.Bucket, "Key", u.Key, "VersionID", u.VersionID,
			"Destination", u.Destination, "Sequencer", u.Result.Sequencer, "Error", u.Result.Error) == nil
}

// versionKey identifies one object version.
type versionKey struct{ bucket, key, version string }

// ApplyReplication implements meta.ReplicationStore. Updates are applied in
// (bucket, key, version) order, so concurrent batches take key locks in one
// order; each version's row is read and written once per batch.
func (s *Store) ApplyReplication(ctx context.Context, updates []meta.ReplicationUpdate) ([]meta.ReplicationOutcome, error) {
	out := make([]meta.ReplicationOutcome, len(updates))
	updates = slices.Clone(updates) // VersionID "" is rewritten below
	var order []int
	for i := range updates {
		u := &updates[i]
		if u.VersionID == "" {
			u.VersionID = meta.NullVersion
		}
		if !validUpdate(u) {
			out[i] = meta.ReplicationInvalid
			continue
		}
		order = append(order, i)
	}
	if len(order) == 0 {
		return out, nil
	}
	vk := func(i int) versionKey {
		return versionKey{updates[i].Bucket, updates[i].Key, updates[i].VersionID}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ka, kb := vk(a), vk(b)
		return cmp.Or(cmp.Compare(ka.bucket, kb.bucket), cmp.Compare(ka.key, kb.key), cmp.Compare(ka.version, kb.version))
	})
	err := s.write(ctx, "apply replication", func(tx Tx, _ *txState) error {
		for start := 0; start < len(order); {
			end := start + 1
			for end < len(order) && vk(order[end]) == vk(order[start]) {
				end++
			}
			if err := s.applyVersion(ctx, tx, updates, order[start:end], out); err != nil {
				return err
			}
			start = end
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyVersion applies the updates idx (all for one version) and records
// their outcomes in out.
func (s *Store) applyVersion(ctx context.Context, tx Tx, updates []meta.ReplicationUpdate, idx []int, out []meta.ReplicationOutcome) error {
	k := versionKey{updates[idx[0]].Bucket, updates[idx[0]].Key, updates[idx[0]].VersionID}
	if err := s.b.LockKey(ctx, tx, k.bucket, k.key); err != nil {
		return err
	}
	var status, repl string
	err := tx.QueryRow(ctx, `SELECT replication_status, replication FROM objects WHERE bucket = ? AND key = ? AND version_id = ?`,
		k.bucket, k.key, k.version).Scan(&status, &repl)
	if s.b.IsNoRows(err) {
		for _, i := range idx {
			out[i] = meta.ReplicationNoVersion
		}
		return nil
	}
	if err != nil {
		return err
	}
	if status == meta.ReplicationReplica {
		for _, i := range idx {
			out[i] = meta.ReplicationStale
		}
		return nil
	}
	dests, err := decodeReplication(repl)
	if err != nil {
		return err
	}
	if dests == nil {
		dests = map[string]meta.DestinationStatus{}
	}
	changed := false
	for _, i := range idx {
		u := updates[i]
		r := normResult(u.Result)
		if cur, ok := dests[u.Destination]; ok && !r.Supersedes(cur) {
			out[i] = meta.ReplicationStale
			continue
		}
		dests[u.Destination] = r
		out[i] = meta.ReplicationApplied
		changed = true
	}
	if !changed {
		return nil
	}
	enc, err := encodeReplication(dests)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE objects SET replication_status = ?, replication = ? WHERE bucket = ? AND key = ? AND version_id = ?`,
		meta.OverallReplicationStatus(dests), enc, k.bucket, k.key, k.version)
	return err
}

// GetReplication implements meta.ReplicationStore.
func (s *Store) GetReplication(ctx context.Context, bucket, key, versionID string) (meta.ReplicationInfo, error) {
	var info meta.ReplicationInfo
	err := s.read(ctx, "get replication", func(tx Tx) error {
		if _, err := s.bucketRow(ctx, tx, bucket, LockNone); err != nil {
			return err
		}
		q := `SELECT version_id, is_delete_marker, replication_status, replication FROM objects WHERE bucket = ? AND key = ? AND `
		args := []any{bucket, key}
		if versionID == "" {
			q += `is_latest`
		} else {
			q += `version_id = ?`
			args = append(args, versionID)
		}
		var repl string
		info = meta.ReplicationInfo{Bucket: bucket, Key: key}
		if checkText("key", key) != nil || checkText("version id", versionID) != nil {
			return noVersion(bucket, key, versionID) // cannot exist
		}
		err := tx.QueryRow(ctx, q, args...).Scan(&info.VersionID, &info.IsDeleteMarker, &info.Status, &repl)
		if s.b.IsNoRows(err) {
			return noVersion(bucket, key, versionID)
		}
		if err != nil {
			return err
		}
		info.Destinations, err = decodeReplication(repl)
		return err
	})
	if err != nil {
		return meta.ReplicationInfo{}, err
	}
	return info, nil
}

// noVersion is the error of a missing key or version.
func noVersion(bucket, key, versionID string) error {
	if versionID == "" {
		return fmt.Errorf("%w: %s/%s", meta.ErrNoSuchKey, bucket, key)
	}
	return fmt.Errorf("%w: %s/%s version %s", meta.ErrNoSuchVersion, bucket, key, versionID)
}
