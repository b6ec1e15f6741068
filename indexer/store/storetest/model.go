package storetest

import (
	"strings"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// Types maps a field ("x-amz-meta-year") to the declared type per bucket.
type Types map[string]map[string]store.FieldType

// Match is the reference semantics of a query on one record: what every
// store must return. Declared types come from types (string by default).
func Match(e query.Expr, r store.Record, types Types) bool {
	switch x := e.(type) {
	case *query.And:
		return Match(x.X, r, types) && Match(x.Y, r, types)
	case *query.Or:
		return Match(x.X, r, types) || Match(x.Y, r, types)
	case *query.Not:
		return !Match(x.X, r, types)
	case *query.Compare:
		return matchCompare(x, r, types)
	case *query.Like:
		v, ok := textValue(x.Field, r)
		return ok && x.Regexp.MatchString(v)
	}
	return false
}

// InScope reports whether a record is seen by a search with this scope
// (ignoring Where).
func InScope(sc store.Scope, r store.Record) bool {
	if sc.Buckets != nil {
		found := false
		for _, b := range sc.Buckets {
			found = found || b == r.Bucket
		}
		if !found {
			return false
		}
	}
	if !strings.HasPrefix(r.Key, sc.Prefix) {
		return false
	}
	return sc.Versions || (r.IsLatest && !r.IsDeleteMarker)
}

func textValue(f query.Field, r store.Record) (string, bool) {
	switch f.Kind {
	case query.FieldKey:
		return r.Key, true
	case query.FieldContentType:
		return r.ContentType, true
	case query.FieldReplicationStatus:
		return r.ReplicationStatus, true
	case query.FieldLocation:
		return r.Location, true
	case query.FieldVersionID:
		return r.VersionID, true
	case query.FieldBucket:
		return r.Bucket, true
	case query.FieldMeta:
		v, ok := r.UserMetadata[f.Name]
		return v, ok
	case query.FieldTag:
		v, ok := r.Tags[f.Name]
		return v, ok
	case query.FieldReplicationDest:
		v, ok := r.Replication[f.Name]
		return v, ok
	}
	return "", false
}

func cmp[T int64 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func holds(op query.CompareOp, c int) bool {
	switch op {
	case query.OpEq:
		return c == 0
	case query.OpNe:
		return c != 0
	case query.OpLt:
		return c < 0
	case query.OpLe:
		return c <= 0
	case query.OpGt:
		return c > 0
	case query.OpGe:
		return c >= 0
	}
	return false
}

func matchCompare(x *query.Compare, r store.Record, types Types) bool {
	f, lit := x.Field, x.Value
	switch f.Kind {
	case query.FieldContentLength:
		n, _ := lit.Number()
		return holds(x.Op, cmp(float64(r.Size), n))
	case query.FieldLastModified:
		d, _ := lit.Date()
		return holds(x.Op, cmp(r.LastModified.UnixMicro(), d.UnixMicro()))
	case query.FieldIsDeleteMarker:
		b, _ := lit.Bool()
		return holds(x.Op, cmp(b2i(r.IsDeleteMarker), b2i(b)))
	case query.FieldReplicationDest:
		v, ok := textValue(f, r)
		return ok && holds(x.Op, strings.Compare(v, lit.Text))
	case query.FieldMeta, query.FieldTag:
		v, ok := textValue(f, r)
		if !ok {
			return false
		}
		switch types[f.String()][r.Bucket] {
		case store.TypeInt, store.TypeFloat:
			n, _ := lit.Number()
			vn, ok := typedNumber(v)
			return ok && holds(x.Op, cmp(vn, n))
		case store.TypeDate:
			d, _ := lit.Date()
			vd, ok := query.ParseDate(v)
			return ok && len(v) <= 64 && holds(x.Op, cmp(vd.UnixMicro(), d.UnixMicro()))
		default:
			return holds(x.Op, strings.Compare(v, lit.Text))
		}
	}
	v, _ := textValue(f, r)
	return holds(x.Op, strings.Compare(v, lit.Text))
}

func typedNumber(v string) (float64, bool) {
	if len(v) > 64 {
		return 0, false
	}
	return query.ParseNumber(v)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
