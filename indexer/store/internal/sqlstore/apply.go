package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// Attribute kinds in the attrs table.
const (
	kindMeta = 1
	kindTag  = 2
	kindRepl = 3
)

// Field groups: the parts of a version's state that events set
// independently, each ordered by the key of the event that last set it.
const (
	gSize  = 's' // size and ETag
	gCtype = 'c' // content type
	gLoc   = 'l' // location
	gMeta  = 'm' // user metadata
	gTags  = 't' // tags
	gRepl  = 'r' // the object's own replication status (destinations order one by one)
)

var groupOrder = []byte{gSize, gCtype, gLoc, gMeta, gTags, gRepl}

var groupFields = map[byte]store.Fields{
	gSize: store.SetSize, gCtype: store.SetContentType, gLoc: store.SetLocation,
	gMeta: store.SetMetadata, gTags: store.SetTags, gRepl: store.SetReplication,
}

// row is one version row of a key, as loaded and changed by Apply.
//
// Ordering: every event has an order key (orderKey: its sequencer, then its
// time). life is the key of the event that last decided the version's
// existence (put, delete marker, removal); "" for a row that only updates
// have touched so far. A field group changed by an update newer than life
// records that update's key in overrides; every other group was set by the
// existence event. An event changes a group only when its key is greater
// than the group's, so the outcome does not depend on arrival order.
// Replication destinations are ordered the same way, each on its own: an
// entry records the key of the event that set it.
type row struct {
	id        int64 // 0: not in the database yet
	bucket    string
	key       string
	versionID string
	removed   bool
	latest    bool
	dm        bool
	size      int64
	etag      string
	ctype     string
	lm        int64 // µs since the epoch
	location  string
	source    string
	seq       string // sequencer of the newest event reflected
	seqKey    string // its order key
	life      string
	overrides map[byte]string

	meta, tags map[string]string
	base       string               // the object's own replication status
	dest       map[string]destEntry // replication status per destination

	// The attributes as loaded, to write only what changed.
	loaded [3]map[string]string // by kind - 1

	dirty bool
}

// destEntry is the replication status of a version at one destination.
type destEntry struct {
	status string
	key    string // order key of the event that set it
}

// attrMaps returns the row's current attributes by kind - 1.
func (r *row) attrMaps() [3]map[string]string {
	var dest map[string]string
	if len(r.dest) > 0 {
		dest = make(map[string]string, len(r.dest))
		for d, e := range r.dest {
			dest[d] = e.status
		}
	}
	return [3]map[string]string{r.meta, r.tags, dest}
}

// seqWidth is the width sequencers are padded to in order keys; wider ones
// (never produced by S3 or Sluice) compare among themselves.
const seqWidth = 32

// orderKey is an event's position in the order of its version's events:
// the sequencer by value (upper case, left-padded with zeros), then, for
// replication results, "~" (which sorts after every hexadecimal digit: a
// result follows the object event it reports on), then the event time.
// Comparing keys as strings compares events.
func orderKey(e *store.Event) string {
	s := strings.ToUpper(e.Sequencer)
	if n := seqWidth - len(s); n > 0 {
		s = strings.Repeat("0", n) + s
	}
	mark := ""
	if e.Op == store.OpReplication {
		mark = "~"
	}
	// µs since the epoch, offset to be non-negative, as 16 hex digits.
	return fmt.Sprintf("%s/%s%016X", s, mark, uint64(e.Time.UnixMicro())+1<<62)
}

func (r *row) groupKey(g byte) string {
	if k, ok := r.overrides[g]; ok {
		return k
	}
	return r.life
}

func encodeOverrides(m map[byte]string) string {
	var b strings.Builder
	for _, g := range groupOrder {
		if k, ok := m[g]; ok {
			b.WriteByte(g)
			b.WriteByte('=')
			b.WriteString(k)
			b.WriteByte(';')
		}
	}
	return b.String()
}

func decodeOverrides(s string) map[byte]string {
	if s == "" {
		return nil
	}
	m := map[byte]string{}
	for _, part := range strings.Split(strings.TrimSuffix(s, ";"), ";") {
		if len(part) > 2 && part[1] == '=' {
			m[part[0]] = part[2:]
		}
	}
	return m
}

// The statements Apply runs for every key (prepared once).
const (
	qUpdateVersion = `UPDATE versions SET removed = ?, is_latest = ?, is_delete_marker = ?, size = ?, etag = ?,
		content_type = ?, last_modified = ?, location = ?, replication_status = ?, source = ?,
		seq = ?, seq_key = ?, life = ?, overrides = ?, maps = ?, applied_at = ? WHERE id = ?`
	qDeleteAttr = `DELETE FROM attrs WHERE bucket = ? AND kind = ? AND name = ? AND value = ? AND vid = ?`
)

// loadRowsQuery loads the rows of n keys of one bucket.
func loadRowsQuery(n int) string {
	return `SELECT id, key, version_id, removed, is_latest, is_delete_marker, size, etag, content_type,
		last_modified, location, source, seq, seq_key, life, overrides, maps
		FROM versions WHERE bucket = ? AND key IN (` + placeholders(n) + `)`
}

// versionCols is the number of columns versionInsert writes per row.
const versionCols = 19

// versionInsert inserts n version rows and returns their ids.
func (s *Store) versionInsert(n int) string {
	if n == insertChunk && s.fullVersionInsert != "" {
		return s.fullVersionInsert
	}
	return s.d.Insert + ` INTO versions (bucket, key, version_id, removed, is_latest, is_delete_marker, size, etag,
		content_type, last_modified, location, replication_status, source, seq, seq_key, life, overrides, maps, applied_at) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ") +
		` RETURNING id, bucket, key, version_id`
}

// insertChunk is the number of version rows per multi-row insert.
const insertChunk = 100

// attrInsert is the insert of n attribute rows.
func (s *Store) attrInsert(n int) string {
	if n == s.attrChunk() && s.fullAttrInsert != "" {
		return s.fullAttrInsert
	}
	return s.d.Insert + ` INTO attrs (bucket, kind, name, value, vid, num, tm) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", n), ", ")
}

// Apply implements store.Store.
func (s *Store) Apply(ctx context.Context, evs []store.Event) (store.ApplyStats, error) {
	var stats store.ApplyStats
	if s.closed.Load() {
		return stats, store.ErrClosed
	}
	if len(evs) == 0 {
		return stats, nil
	}
	groups := map[gkey][]*store.Event{}
	var order []gkey
	for i := range evs {
		e := &evs[i]
		if err := e.Validate(); err != nil {
			return stats, fmt.Errorf("event %d (%s %s/%s): %w", i, e.Op, e.Bucket, e.Key, err)
		}
		k := gkey{e.Bucket, e.Key}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], e)
	}
	slices.SortFunc(order, func(a, b gkey) int {
		if c := strings.Compare(a.bucket, b.bucket); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return stats, s.wrap("begin", err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.d.Lock != nil {
		hashes := make([]int64, 0, len(order))
		for _, k := range order {
			hashes = append(hashes, keyHash(k.bucket, k.key))
		}
		slices.Sort(hashes)
		if err := s.d.Lock(ctx, tx, slices.Compact(hashes)); err != nil {
			return stats, s.wrap("lock", err)
		}
	}
	newBuckets, err := s.noteBuckets(ctx, tx, order)
	if err != nil {
		return stats, s.wrap("buckets", err)
	}
	loaded, err := s.loadRows(ctx, tx, order)
	if err != nil {
		return stats, s.wrap("load", err)
	}
	var dirty []*row
	for _, k := range order {
		rows := loaded[k]
		if rows == nil {
			rows = map[string]*row{}
		}
		for _, e := range groups[k] {
			if applyEvent(rows, e) {
				stats.Applied++
			} else {
				stats.Skipped++
			}
		}
		setLatest(rows)
		for _, vid := range slices.Sorted(maps.Keys(rows)) {
			if r := rows[vid]; r.dirty {
				r.bucket, r.key = k.bucket, k.key
				dirty = append(dirty, r)
			}
		}
	}
	inserted := 0
	for _, r := range dirty {
		if r.id == 0 {
			inserted++
		}
	}
	if err := s.writeRows(ctx, tx, dirty); err != nil {
		return stats, s.wrap("write", err)
	}
	if err := tx.Commit(); err != nil {
		return store.ApplyStats{}, s.wrap("commit", err)
	}
	for _, b := range newBuckets {
		s.buckets.Store(b, true)
	}
	s.grew(inserted)
	if s.d.Committed != nil {
		s.d.Committed(len(dirty))
	}
	return stats, nil
}

// noteBuckets records the buckets of a batch in the buckets table, and
// returns those this store did not know yet (to remember once the
// transaction commits).
func (s *Store) noteBuckets(ctx context.Context, tx *sql.Tx, keys []gkey) ([]string, error) {
	var fresh []string
	for i, k := range keys {
		if i > 0 && keys[i-1].bucket == k.bucket {
			continue
		}
		if _, known := s.buckets.Load(k.bucket); known {
			continue
		}
		if err := s.exec(ctx, tx, `INSERT INTO buckets (bucket) VALUES (?) ON CONFLICT (bucket) DO NOTHING`, k.bucket); err != nil {
			return nil, err
		}
		fresh = append(fresh, k.bucket)
	}
	return fresh, nil
}

// gkey names an object key.
type gkey struct{ bucket, key string }

// keyHash is the lock id of an object key.
func keyHash(bucket, key string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(bucket))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	return int64(h.Sum64())
}

// loadChunk is the number of keys per row-loading query.
const loadChunk = 250

// loadRows loads the rows of the given keys (sorted by bucket), a bucket
// and a chunk of keys per query.
func (s *Store) loadRows(ctx context.Context, tx *sql.Tx, keys []gkey) (map[gkey]map[string]*row, error) {
	out := make(map[gkey]map[string]*row, len(keys))
	for start := 0; start < len(keys); {
		end := start + 1
		for end < len(keys) && end-start < loadChunk && keys[end].bucket == keys[start].bucket {
			end++
		}
		args := make([]any, 0, end-start+1)
		args = append(args, keys[start].bucket)
		for _, k := range keys[start:end] {
			args = append(args, k.key)
		}
		q := loadRowsQuery(end - start)
		var rs *sql.Rows
		var err error
		if st := s.stmt(ctx, tx, q); st != nil {
			rs, err = st.QueryContext(ctx, args...)
		} else {
			rs, err = tx.QueryContext(ctx, s.d.Rebind(q), args...)
		}
		if err != nil {
			return nil, err
		}
		if err := scanRows(rs, keys[start].bucket, out); err != nil {
			return nil, err
		}
		start = end
	}
	return out, nil
}

func scanRows(rs *sql.Rows, bucket string, out map[gkey]map[string]*row) error {
	defer rs.Close()
	for rs.Next() {
		r := &row{bucket: bucket}
		var removed, latest, dm int64
		var overrides, maps string
		if err := rs.Scan(&r.id, &r.key, &r.versionID, &removed, &latest, &dm, &r.size, &r.etag, &r.ctype,
			&r.lm, &r.location, &r.source, &r.seq, &r.seqKey, &r.life, &overrides, &maps); err != nil {
			return err
		}
		r.removed, r.latest, r.dm = removed != 0, latest != 0, dm != 0
		r.overrides = decodeOverrides(overrides)
		if err := decodeMaps(maps, r); err != nil {
			return err
		}
		r.loaded = r.attrMaps()
		k := gkey{bucket, r.key}
		if out[k] == nil {
			out[k] = map[string]*row{}
		}
		out[k][r.versionID] = r
	}
	return rs.Err()
}

func versionOf(e *store.Event) string {
	if e.VersionID == "" {
		return store.NullVersion
	}
	return e.VersionID
}

// applyEvent applies one event to the rows of its key and reports whether
// it changed anything.
func applyEvent(rows map[string]*row, e *store.Event) bool {
	vid := versionOf(e)
	k := orderKey(e)
	r := rows[vid]
	changed := false
	switch e.Op {
	case store.OpPut, store.OpDeleteMarker, store.OpRemove:
		if r != nil && k <= r.life {
			return false // stale or duplicate
		}
		if r == nil {
			r = &row{versionID: vid}
			rows[vid] = r
		}
		src := e
		if e.Op != store.OpPut {
			src = &store.Event{} // no content
		}
		for _, g := range groupOrder {
			if ov, has := r.overrides[g]; has && ov > k && e.Op != store.OpRemove {
				continue // a later update set it
			}
			setGroup(r, g, src)
			delete(r.overrides, g)
		}
		// Destinations set by a later event stay; the others described
		// older content.
		for d, de := range r.dest {
			if de.key <= k || e.Op == store.OpRemove {
				delete(r.dest, d)
			}
		}
		for d, st := range src.Replication {
			if de, ok := r.dest[d]; ok && de.key > k {
				continue
			}
			if r.dest == nil {
				r.dest = map[string]destEntry{}
			}
			r.dest[d] = destEntry{status: st, key: k}
		}
		r.life, r.removed, r.dm = k, e.Op == store.OpRemove, e.Op == store.OpDeleteMarker
		if e.Op != store.OpRemove {
			r.lm, r.source = e.Time.UnixMicro(), e.Source
		}
		changed = true
	case store.OpUpdate, store.OpReplication:
		if r != nil && r.removed {
			return false
		}
		if r == nil {
			// Known only from an update so far: life stays "" until the
			// creation arrives.
			r = &row{versionID: vid, lm: e.Time.UnixMicro(), source: e.Source}
			rows[vid] = r
		}
		for _, g := range groupOrder {
			if e.Op != store.OpUpdate || e.Set&groupFields[g] == 0 || k <= r.groupKey(g) {
				continue
			}
			if g == gRepl && e.ReplicationStatus == "" {
				continue // destinations only
			}
			setGroup(r, g, e)
			if r.overrides == nil {
				r.overrides = map[byte]string{}
			}
			r.overrides[g] = k
			changed = true
		}
		if e.Op == store.OpReplication || e.Set&store.SetReplication != 0 {
			for d, st := range e.Replication {
				cur := r.life // a destination without status: as old as the content
				if de, ok := r.dest[d]; ok {
					cur = de.key
				}
				if k <= cur {
					continue
				}
				if r.dest == nil {
					r.dest = map[string]destEntry{}
				}
				r.dest[d] = destEntry{status: st, key: k}
				changed = true
			}
		}
		if !changed {
			return false
		}
	}
	if k > r.seqKey {
		r.seq, r.seqKey = e.Sequencer, k
	}
	r.dirty = true
	return true
}

// setGroup copies one field group of e into r.
func setGroup(r *row, g byte, e *store.Event) {
	switch g {
	case gSize:
		r.size, r.etag = e.Size, e.ETag
	case gCtype:
		r.ctype = e.ContentType
	case gLoc:
		r.location = e.Location
	case gRepl:
		r.base = e.ReplicationStatus
	case gMeta:
		r.meta = maps.Clone(e.UserMetadata)
	case gTags:
		r.tags = maps.Clone(e.Tags)
	}
}

// setLatest marks the live row created last as latest, and every other row
// not latest.
func setLatest(rows map[string]*row) {
	var best *row
	for _, r := range rows {
		if r.removed {
			continue
		}
		if best == nil || createdAfter(r, best) {
			best = r
		}
	}
	for _, r := range rows {
		if want := r == best; r.latest != want {
			r.latest, r.dirty = want, true
		}
	}
}

// createdAfter orders versions by creation: the order key of the creation
// (rows known only from updates come first), then last-modified time, then
// version id.
func createdAfter(a, b *row) bool {
	if a.life != b.life {
		return a.life > b.life
	}
	if a.lm != b.lm {
		return a.lm > b.lm
	}
	return a.versionID > b.versionID
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// writeRows writes the changed rows: updates one by one, inserts in
// multi-row statements, then the attributes that changed (deleted one by
// one, inserted in multi-row statements).
func (s *Store) writeRows(ctx context.Context, tx *sql.Tx, dirty []*row) error {
	now := s.now().UnixMicro()
	var fresh []*row
	for _, r := range dirty {
		if r.id == 0 {
			fresh = append(fresh, r)
			continue
		}
		vals := []any{b2i(r.removed), b2i(r.latest), b2i(r.dm), r.size, r.etag, r.ctype,
			r.lm, r.location, r.overall(), r.source, r.seq, r.seqKey, r.life, encodeOverrides(r.overrides), encodeMaps(r), now, r.id}
		if err := s.exec(ctx, tx, qUpdateVersion, vals...); err != nil {
			return err
		}
		cur := r.attrMaps()
		for i, old := range r.loaded {
			for name, v := range old {
				if nv, ok := cur[i][name]; !ok || nv != v {
					if err := s.exec(ctx, tx, qDeleteAttr, r.bucket, i+1, name, v, r.id); err != nil {
						return err
					}
				}
			}
		}
	}
	for start := 0; start < len(fresh); start += insertChunk {
		if err := s.insertVersions(ctx, tx, fresh[start:min(start+insertChunk, len(fresh))], now); err != nil {
			return err
		}
	}
	w := &attrWriter{s: s, tx: tx}
	for _, r := range dirty {
		cur := r.attrMaps()
		for i, m := range cur {
			old := r.loaded[i]
			for _, name := range slices.Sorted(maps.Keys(m)) {
				v := m[name]
				if ov, ok := old[name]; ok && ov == v {
					continue
				}
				if err := w.add(ctx, r.bucket, i+1, name, v, r.id); err != nil {
					return err
				}
			}
		}
	}
	return w.flush(ctx)
}

// overall is the replication status the row shows.
func (r *row) overall() string {
	return store.ReplicationOverall(r.base, r.attrMaps()[kindRepl-1])
}

// insertVersions inserts new rows and records their ids.
func (s *Store) insertVersions(ctx context.Context, tx *sql.Tx, rows []*row, now int64) error {
	args := make([]any, 0, versionCols*len(rows))
	byKey := make(map[[3]string]*row, len(rows))
	for _, r := range rows {
		args = append(args, r.bucket, r.key, r.versionID, b2i(r.removed), b2i(r.latest), b2i(r.dm), r.size, r.etag, r.ctype,
			r.lm, r.location, r.overall(), r.source, r.seq, r.seqKey, r.life, encodeOverrides(r.overrides), encodeMaps(r), now)
		byKey[[3]string{r.bucket, r.key, r.versionID}] = r
	}
	q := s.versionInsert(len(rows))
	var rs *sql.Rows
	var err error
	if st := s.stmt(ctx, tx, q); st != nil {
		rs, err = st.QueryContext(ctx, args...)
	} else {
		rs, err = tx.QueryContext(ctx, s.d.Rebind(q), args...)
	}
	if err != nil {
		return err
	}
	defer rs.Close()
	n := 0
	for rs.Next() {
		var id int64
		var k [3]string
		if err := rs.Scan(&id, &k[0], &k[1], &k[2]); err != nil {
			return err
		}
		if r := byKey[k]; r != nil {
			r.id = id
			n++
		}
	}
	if err := rs.Err(); err != nil {
		return err
	}
	if n != len(rows) {
		return fmt.Errorf("inserted %d version rows, got %d ids back", len(rows), n)
	}
	return nil
}

// attrWriter inserts attribute rows in multi-row statements.
type attrWriter struct {
	s    *Store
	tx   *sql.Tx
	args []any
	n    int
}

const attrCols = 7

// attrChunk is the number of rows per multi-row attribute insert.
func (s *Store) attrChunk() int {
	return min(s.d.MaxParams/attrCols, 200)
}

func (w *attrWriter) add(ctx context.Context, bucket string, kind int, name, value string, vid int64) error {
	var num, tm any
	if kind != kindRepl {
		num, tm = typedValues(value)
	}
	w.args = append(w.args, bucket, kind, name, value, vid, num, tm)
	w.n++
	if w.n >= w.s.attrChunk() {
		return w.flush(ctx)
	}
	return nil
}

func (w *attrWriter) flush(ctx context.Context) error {
	if w.n == 0 {
		return nil
	}
	if err := w.s.exec(ctx, w.tx, w.s.attrInsert(w.n), w.args...); err != nil {
		return err
	}
	w.args, w.n = w.args[:0], 0
	return nil
}

// maxTypedLen bounds the values read as numbers or dates.
const maxTypedLen = 64

// typedValues returns the numeric and date readings of a value (nil when
// it has none), stored next to it so that any declared type compares
// typed values through an index.
func typedValues(v string) (num, tm any) {
	if v == "" || len(v) > maxTypedLen {
		return nil, nil
	}
	c := v[0]
	if !('0' <= c && c <= '9' || c == '-' || c == '+' || c == '.') {
		return nil, nil
	}
	if f, ok := query.ParseNumber(v); ok {
		num = f
	}
	// Every date ParseDate accepts starts with YYYY-: skip the parse (and
	// its error) for the rest.
	if len(v) >= len("2006-01-02") && v[4] == '-' {
		if t, ok := query.ParseDate(v); ok {
			tm = t.UnixMicro()
		}
	}
	return num, tm
}
