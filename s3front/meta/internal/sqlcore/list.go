package sqlcore

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/s3front/meta"
)

// maxRune is the largest code point. In UTF-8 byte order every key that starts with
// p and continues with a code point below U+10FFFF sorts before p+maxRune, so
// "key > p+maxRune" skips a common prefix in one index seek; the rare keys that
// continue with U+10FFFF itself are skipped one by one by the grouper.
const maxRune = "\U0010FFFF"

// bound is a lower bound on keys.
type bound struct {
	v    string
	incl bool
}

// tighter returns the more restrictive of a and b.
func tighter(a, b bound) bound {
	switch {
	case a.v > b.v:
		return a
	case b.v > a.v:
		return b
	case !a.incl:
		return a
	}
	return b
}

func (b bound) op() string {
	if b.incl {
		return ">="
	}
	return ">"
}

// grouper applies prefix, delimiter and max-keys rules to keys visited in order.
type grouper struct {
	prefix, delim string
	max, count    int
	skip          string // common prefix already emitted: its keys are skipped
	prefixes      []string
	last          string // last key or common prefix emitted
	lastIsPrefix  bool
	truncated     bool
	done          bool
}

func newGrouper(prefix, delim, marker string, max int) *grouper {
	g := &grouper{prefix: prefix, delim: delim, max: max}
	if max <= 0 {
		g.done = true
	}
	// A marker inside a common prefix means that prefix was already returned.
	if cp, ok := g.commonPrefix(marker); ok {
		g.skip = cp
	}
	return g
}

// start is the first lower bound: after marker and at or after prefix.
func (g *grouper) start(marker string) bound {
	b := tighter(bound{v: g.prefix, incl: true}, bound{v: marker})
	if g.skip != "" {
		b = tighter(b, bound{v: g.skip + maxRune})
	}
	return b
}

// commonPrefix returns the common prefix key rolls up into, if any.
func (g *grouper) commonPrefix(key string) (string, bool) {
	if g.delim == "" || !strings.HasPrefix(key, g.prefix) {
		return "", false
	}
	i := strings.Index(key[len(g.prefix):], g.delim)
	if i < 0 {
		return "", false
	}
	return key[:len(g.prefix)+i+len(g.delim)], true
}

// skipping reports whether key lies in the common prefix being skipped.
func (g *grouper) skipping(key string) bool {
	return g.skip != "" && strings.HasPrefix(key, g.skip)
}

// visit classifies the next key in order and reports whether the row must be
// returned as an item. It sets g.done when listing must stop.
func (g *grouper) visit(key string) bool {
	if g.done {
		return false
	}
	if !strings.HasPrefix(key, g.prefix) {
		g.done = true
		return false
	}
	if g.skipping(key) {
		return false
	}
	if g.count == g.max {
		g.truncated, g.done = true, true
		return false
	}
	g.count++
	if cp, ok := g.commonPrefix(key); ok {
		g.skip = cp
		g.prefixes = append(g.prefixes, cp)
		g.last, g.lastIsPrefix = cp, true
		return false
	}
	g.last, g.lastIsPrefix = key, false
	return true
}

// next returns the bound after a batch ending with key.
func (g *grouper) next(key string) bound {
	b := bound{v: key}
	if g.skip != "" {
		b = tighter(b, bound{v: g.skip + maxRune})
	}
	return b
}

// Batch sizing. A batch is at most the remaining capacity plus one row (to detect
// truncation), within [minBatch, maxBatch], and also within the lister's current
// window: the window shrinks to minBatch when a batch is abandoned inside a common
// prefix (the next prefix is probably large too: seek, don't scan) and grows
// fourfold after each batch used to the end (flat keys: scan in bulk).
const (
	minBatch = 16
	maxBatch = 1000
	// skipRun is how many consecutive rows inside an already-returned common
	// prefix make the lister abandon its batch and seek past the prefix.
	skipRun = 4
)

// batchLimit is how many rows to fetch for the remaining capacity.
func (g *grouper) batchLimit(window int) int {
	n := g.max - g.count + 1
	n = min(n, window, maxBatch)
	return max(n, minBatch)
}

// fetchFunc runs one batch query returning at most limit rows and calls each for
// every row in order until each returns false (the rest of the batch is not read).
type fetchFunc[T any] func(limit int, each func(T) bool) error

// keyedLister walks rows ordered by key, then by a per-key sequence, with the
// grouper's rules. within fetches the rest of one key's rows after a sequence
// value (nil when a key has at most one row); after fetches rows of later keys.
type keyedLister[T any] struct {
	g      *grouper
	within func(key string, seq int64) fetchFunc[T]
	after  func(b bound) fetchFunc[T]
	key    func(T) string
	seq    func(T) int64
	out    []T
	window int // current batch window; 0 means maxBatch
}

// batchOutcome says how a batch ended.
type batchOutcome int

const (
	batchConsumed  batchOutcome = iota // every row visited; more may follow
	batchExhausted                     // short batch or listing done: stop
	batchAbandoned                     // a run of rows inside a skipped prefix: seek past it
)

// batch runs one fetch, feeding rows to the grouper, and returns how it ended and
// the last row visited (valid unless the batch was empty).
func (l *keyedLister[T]) batch(fetch fetchFunc[T]) (batchOutcome, T, error) {
	if l.window == 0 {
		l.window = maxBatch
	}
	limit := l.g.batchLimit(l.window)
	var (
		n, run  int
		last    T
		outcome = batchConsumed
	)
	err := fetch(limit, func(r T) bool {
		n++
		last = r
		k := l.key(r)
		if l.g.visit(k) {
			l.out = append(l.out, r)
		}
		if l.g.done {
			outcome = batchExhausted
			return false
		}
		if !l.g.skipping(k) {
			run = 0
			return true
		}
		if run++; run >= skipRun {
			outcome = batchAbandoned
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return batchExhausted, last, err
	case outcome == batchAbandoned:
		l.window = minBatch
	case outcome == batchConsumed && n < limit:
		outcome = batchExhausted
	case outcome == batchConsumed:
		l.window = min(max(l.window, minBatch)*4, maxBatch)
	}
	return outcome, last, nil
}

// finishKey lists the remaining rows of key after seq.
func (l *keyedLister[T]) finishKey(key string, seq int64) error {
	if l.within == nil || l.g.skipping(key) {
		return nil
	}
	for !l.g.done {
		out, last, err := l.batch(l.within(key, seq))
		if err != nil || out != batchConsumed {
			return err // exhausted, or (abandoned) the key lies in a skipped prefix
		}
		seq = l.seq(last)
	}
	return nil
}

// run lists from b (after finishing startKey from startSeq when hasStart).
func (l *keyedLister[T]) run(b bound, startKey string, startSeq int64, hasStart bool) error {
	if hasStart {
		if err := l.finishKey(startKey, startSeq); err != nil {
			return err
		}
	}
	for !l.g.done {
		out, last, err := l.batch(l.after(b))
		if err != nil || out == batchExhausted {
			return err
		}
		if out == batchConsumed {
			// The batch may have ended inside the last key's versions.
			if err := l.finishKey(l.key(last), l.seq(last)); err != nil {
				return err
			}
		}
		b = l.g.next(l.key(last))
	}
	return nil
}

// checkListText validates list parameters like keys.
func checkListText(ss ...string) error {
	for _, s := range ss {
		if err := checkText("list parameter", s); err != nil {
			return err
		}
	}
	return nil
}

// ListObjects implements meta.ObjectStore.
func (s *Store) ListObjects(ctx context.Context, in meta.ListObjectsInput) (meta.ListObjectsResult, error) {
	if err := checkListText(in.Prefix, in.Delimiter, in.StartAfter); err != nil {
		return meta.ListObjectsResult{}, err
	}
	var res meta.ListObjectsResult
	err := s.read(ctx, "list objects", func(tx Tx) error {
		if _, err := s.bucketRow(ctx, tx, in.Bucket, LockNone); err != nil {
			return err
		}
		g := newGrouper(in.Prefix, in.Delimiter, in.StartAfter, in.MaxKeys)
		l := &keyedLister[objectRow]{
			g: g,
			after: func(b bound) fetchFunc[objectRow] {
				return s.objects(ctx, tx, `SELECT `+objectCols+` FROM objects WHERE bucket = ? AND is_latest AND NOT is_delete_marker AND key `+b.op()+` ? ORDER BY key LIMIT ?`,
					in.Bucket, b.v)
			},
			key: func(r objectRow) string { return r.Key },
			seq: func(r objectRow) int64 { return r.createdSeq },
		}
		if err := l.run(g.start(in.StartAfter), "", 0, false); err != nil {
			return err
		}
		res = meta.ListObjectsResult{CommonPrefixes: g.prefixes, IsTruncated: g.truncated}
		for _, r := range l.out {
			res.Objects = append(res.Objects, r.Object)
		}
		if g.truncated {
			res.NextMarker = g.last
		}
		return nil
	})
	return res, err
}

// ListObjectVersions implements meta.ObjectStore.
func (s *Store) ListObjectVersions(ctx context.Context, in meta.ListVersionsInput) (meta.ListVersionsResult, error) {
	if err := checkListText(in.Prefix, in.Delimiter, in.KeyMarker, in.VersionIDMarker); err != nil {
		return meta.ListVersionsResult{}, err
	}
	if in.VersionIDMarker != "" && in.KeyMarker == "" {
		return meta.ListVersionsResult{}, fmt.Errorf("%w: version-id-marker without key-marker", meta.ErrInvalidArgument)
	}
	var res meta.ListVersionsResult
	err := s.read(ctx, "list object versions", func(tx Tx) error {
		if _, err := s.bucketRow(ctx, tx, in.Bucket, LockNone); err != nil {
			return err
		}
		g := newGrouper(in.Prefix, in.Delimiter, in.KeyMarker, in.MaxKeys)
		b := g.start(in.KeyMarker)
		var (
			startSeq int64
			hasStart bool
		)
		if in.VersionIDMarker != "" && !g.skipping(in.KeyMarker) && strings.HasPrefix(in.KeyMarker, in.Prefix) {
			if in.VersionIDMarker == meta.NullVersion {
				r, found, err := s.versionRow(ctx, tx, in.Bucket, in.KeyMarker, meta.NullVersion)
				if err != nil {
					return err
				}
				startSeq, hasStart = r.createdSeq, found
			} else {
				seq, ok := versionSeq(in.VersionIDMarker)
				if !ok {
					return fmt.Errorf("%w: version-id-marker %q", meta.ErrInvalidArgument, in.VersionIDMarker)
				}
				startSeq, hasStart = seq, true
			}
		}
		l := &keyedLister[objectRow]{
			g: g,
			within: func(key string, seq int64) fetchFunc[objectRow] {
				return s.objects(ctx, tx, `SELECT `+objectCols+` FROM objects WHERE bucket = ? AND key = ? AND created_seq < ? ORDER BY created_seq DESC LIMIT ?`,
					in.Bucket, key, seq)
			},
			after: func(b bound) fetchFunc[objectRow] {
				return s.objects(ctx, tx, `SELECT `+objectCols+` FROM objects WHERE bucket = ? AND key `+b.op()+` ? ORDER BY key, created_seq DESC LIMIT ?`,
					in.Bucket, b.v)
			},
			key: func(r objectRow) string { return r.Key },
			seq: func(r objectRow) int64 { return r.createdSeq },
		}
		if err := l.run(b, in.KeyMarker, startSeq, hasStart); err != nil {
			return err
		}
		res = meta.ListVersionsResult{CommonPrefixes: g.prefixes, IsTruncated: g.truncated}
		for _, r := range l.out {
			res.Versions = append(res.Versions, r.Object)
		}
		if g.truncated {
			res.NextKeyMarker = g.last
			if !g.lastIsPrefix && len(res.Versions) > 0 {
				res.NextVersionIDMarker = res.Versions[len(res.Versions)-1].VersionID
			}
		}
		return nil
	})
	return res, err
}

// objects returns a fetchFunc running q with args plus the batch limit.
func (s *Store) objects(ctx context.Context, tx Tx, q string, args ...any) fetchFunc[objectRow] {
	return func(limit int, each func(objectRow) bool) error {
		rows, err := tx.Query(ctx, q, append(args, limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanObject(rows)
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
