package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/sluice-io/sluice/indexer/store"
)

// purgeChunk is the most rows one purge transaction removes, so that a
// purge never holds the writer for long.
const purgeChunk = 500

// purgeChosen runs between the choice of the rows to purge and their
// removal (tests write concurrently there).
var purgeChosen = func() {}

// deadCond selects tombstones and versions known only from updates; the
// partial index versions_dead has the same condition, which lets SQLite
// use it.
const deadCond = `(removed <> 0 OR life = '')`

// PurgeTombstones implements store.Store.
func (s *Store) PurgeTombstones(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		if s.closed.Load() {
			return total, store.ErrClosed
		}
		removed, chosen, err := s.purgeChunk(ctx, before.UnixMicro())
		total += removed
		if err != nil {
			return total, s.wrap("purge", err)
		}
		if chosen < purgeChunk {
			return total, nil
		}
	}
}

// purgeChunk removes up to purgeChunk dead rows written before cutoff (µs),
// with their attributes, in one transaction. It returns how many it
// removed and how many it chose (some may have been written since).
func (s *Store) purgeChunk(ctx context.Context, cutoff int64) (removed, chosen int64, err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = tx.Rollback() }()
	rs, err := tx.QueryContext(ctx, s.d.Rebind(`SELECT id, bucket, key FROM versions
		WHERE `+deadCond+` AND applied_at < ? ORDER BY applied_at LIMIT ?`), cutoff, purgeChunk)
	if err != nil {
		return 0, 0, err
	}
	var ids []any
	var hashes []int64
	for rs.Next() {
		var id int64
		var k gkey
		if err := rs.Scan(&id, &k.bucket, &k.key); err != nil {
			rs.Close()
			return 0, 0, err
		}
		ids = append(ids, id)
		hashes = append(hashes, keyHash(k.bucket, k.key))
	}
	err = rs.Err()
	rs.Close()
	if err != nil || len(ids) == 0 {
		return 0, 0, err
	}
	chosen = int64(len(ids))
	purgeChosen()
	if s.d.Lock != nil {
		// The same key locks as Apply: no Apply of these keys runs
		// between the choice and the removal.
		slices.Sort(hashes)
		if err := s.d.Lock(ctx, tx, slices.Compact(hashes)); err != nil {
			return 0, 0, err
		}
	}
	// The condition is checked again on delete: a row written since the
	// choice (a re-created null version) stays.
	q := `DELETE FROM versions WHERE id IN (` + placeholders(len(ids)) + `) AND ` + deadCond +
		` AND applied_at < ? RETURNING id, bucket, maps`
	drs, err := tx.QueryContext(ctx, s.d.Rebind(q), append(ids, cutoff)...)
	if err != nil {
		return 0, chosen, err
	}
	var gone []*row
	for drs.Next() {
		r := &row{}
		var maps string
		if err := drs.Scan(&r.id, &r.bucket, &maps); err != nil {
			drs.Close()
			return 0, 0, err
		}
		if err := decodeMaps(maps, r); err != nil {
			drs.Close()
			return 0, 0, err
		}
		gone = append(gone, r)
	}
	err = drs.Err()
	drs.Close()
	if err != nil {
		return 0, 0, err
	}
	// Tombstones have no attributes; versions known only from updates
	// may.
	for _, r := range gone {
		for i, m := range r.attrMaps() {
			for name, v := range m {
				if err := s.exec(ctx, tx, qDeleteAttr, r.bucket, i+1, name, v, r.id); err != nil {
					return 0, 0, err
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, chosen, err
	}
	return int64(len(gone)), chosen, nil
}
