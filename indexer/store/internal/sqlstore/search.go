package sqlstore

import (
	"context"
	"fmt"
	"math"
	"regexp/syntax"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// compiler turns a query into an SQL condition on versions aliased v, with
// every value bound as a parameter.
type compiler struct {
	d       *Dialect
	args    []any
	buckets []string                              // nil: every bucket
	types   map[string]map[string]store.FieldType // field → bucket → declared type
}

func (c *compiler) bind(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// bucketList binds a list and returns "(?, ?, ...)".
func (c *compiler) bucketList(bs []string) string {
	ph := make([]string, len(bs))
	for i, b := range bs {
		ph[i] = c.bind(b)
	}
	return "(" + strings.Join(ph, ", ") + ")"
}

func (c *compiler) expr(e query.Expr) (string, error) {
	switch x := e.(type) {
	case *query.And:
		return c.and(x)
	case *query.Or:
		l, err := c.expr(x.X)
		if err != nil {
			return "", err
		}
		r, err := c.expr(x.Y)
		if err != nil {
			return "", err
		}
		return "(" + l + " OR " + r + ")", nil
	case *query.Not:
		inner, err := c.expr(x.X)
		if err != nil {
			return "", err
		}
		return "(NOT " + inner + ")", nil
	case *query.Compare:
		return c.compare(x)
	case *query.Like:
		return c.like(x)
	}
	return "", query.Errorf(e.Pos(), "unsupported expression")
}

var columns = map[query.FieldKind]string{
	query.FieldKey:               "v.key",
	query.FieldContentLength:     "v.size",
	query.FieldContentType:       "v.content_type",
	query.FieldLastModified:      "v.last_modified",
	query.FieldReplicationStatus: "v.replication_status",
	query.FieldLocation:          "v.location",
	query.FieldVersionID:         "v.version_id",
	query.FieldIsDeleteMarker:    "v.is_delete_marker",
	query.FieldBucket:            "v.bucket",
}

func sqlOp(op query.CompareOp) string {
	if op == query.OpNe {
		return "<>"
	}
	return op.String()
}

// and compiles a chain of ANDs. Terms on the same metadata field or tag
// become one attribute condition ("has f with a value satisfying all of
// them", which is the same since a version has one value per field), so
// that a range like "x > 1 AND x < 5" is one index range.
func (c *compiler) and(x *query.And) (string, error) {
	terms := flattenAnd(x)
	byField := map[string][]query.Expr{}
	for _, t := range terms {
		if f, ok := attrField(t); ok {
			byField[f.String()] = append(byField[f.String()], t)
		}
	}
	var out []string
	done := map[string]bool{}
	for _, t := range terms {
		var sql string
		var err error
		if f, ok := attrField(t); ok {
			k := f.String()
			if done[k] {
				continue
			}
			done[k] = true
			sql, err = c.attr(byField[k])
		} else {
			sql, err = c.expr(t)
		}
		if err != nil {
			return "", err
		}
		out = append(out, sql)
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return "(" + strings.Join(out, " AND ") + ")", nil
}

// attrField returns the metadata, tag or replication destination field a
// comparison or LIKE is on.
func attrField(e query.Expr) (query.Field, bool) {
	var f query.Field
	switch x := e.(type) {
	case *query.Compare:
		f = x.Field
	case *query.Like:
		f = x.Field
	default:
		return f, false
	}
	return f, isAttr(f)
}

// isAttr reports whether f is a field of the attrs table.
func isAttr(f query.Field) bool {
	return f.Kind == query.FieldMeta || f.Kind == query.FieldTag || f.Kind == query.FieldReplicationDest
}

// attrKind is the attrs kind of an attribute field.
func attrKind(f query.Field) int {
	switch f.Kind {
	case query.FieldTag:
		return kindTag
	case query.FieldReplicationDest:
		return kindRepl
	}
	return kindMeta
}

func (c *compiler) compare(x *query.Compare) (string, error) {
	f, lit := x.Field, x.Value
	switch f.Kind {
	case query.FieldMeta, query.FieldTag, query.FieldReplicationDest:
		return c.attr([]query.Expr{x})
	case query.FieldContentLength:
		n, _ := lit.Number() // checked by the parser
		return intCompare("v.size", x.Op, n, c), nil
	case query.FieldLastModified:
		d, _ := lit.Date()
		return "v.last_modified " + sqlOp(x.Op) + " " + c.bind(micros(d)), nil
	case query.FieldIsDeleteMarker:
		b, _ := lit.Bool()
		return "v.is_delete_marker " + sqlOp(x.Op) + " " + c.bind(b2i(b)), nil
	}
	col, ok := columns[f.Kind]
	if !ok {
		return "", query.Errorf(f.Pos, "unsupported field %s", f)
	}
	return col + " " + sqlOp(x.Op) + " " + c.bind(lit.Text), nil
}

// attrValueCond compiles the condition one comparison or LIKE puts on an
// attribute row's value, for a field declared t.
func (c *compiler) attrValueCond(e query.Expr, t store.FieldType) (string, error) {
	switch x := e.(type) {
	case *query.Like:
		return c.regexpCond("value", x)
	case *query.Compare:
		f, lit := x.Field, x.Value
		switch t {
		case store.TypeInt, store.TypeFloat:
			n, ok := lit.Number()
			if !ok || (t == store.TypeInt && !query.IsInteger(lit.Text)) {
				return "", query.Errorf(lit.Pos, "%s is declared %s; %s is not one", f, t, lit)
			}
			return "num " + sqlOp(x.Op) + " " + c.bind(n), nil
		case store.TypeDate:
			d, ok := lit.Date()
			if !ok {
				return "", query.Errorf(lit.Pos, "%s is declared date; %s is not a date", f, lit)
			}
			return "tm " + sqlOp(x.Op) + " " + c.bind(micros(d)), nil
		default:
			return "value " + sqlOp(x.Op) + " " + c.bind(lit.Text), nil
		}
	}
	return "", query.Errorf(e.Pos(), "unsupported expression")
}

// micros converts a time to the stored µs, clamped to the int64 range.
func micros(t time.Time) int64 {
	const maxSec = math.MaxInt64 / 1000000
	if s := t.Unix(); s > maxSec {
		return math.MaxInt64
	} else if s < -maxSec {
		return math.MinInt64
	}
	return t.UnixMicro()
}

// intCompare compares an integer column with a number exactly, binding an
// integer so that the column's index is usable.
func intCompare(col string, op query.CompareOp, n float64, c *compiler) string {
	const lim = 1 << 62
	if n > lim {
		n = lim
	} else if n < -lim {
		n = -lim
	}
	fl, ce := int64(math.Floor(n)), int64(math.Ceil(n))
	integral := fl == ce
	switch op {
	case query.OpEq:
		if !integral {
			return "1 = 0"
		}
		return col + " = " + c.bind(fl)
	case query.OpNe:
		if !integral {
			return "1 = 1"
		}
		return col + " <> " + c.bind(fl)
	case query.OpGt:
		return col + " > " + c.bind(fl)
	case query.OpGe:
		return col + " >= " + c.bind(ce)
	case query.OpLt:
		return col + " < " + c.bind(ce)
	default: // OpLe
		return col + " <= " + c.bind(fl)
	}
}

func (c *compiler) like(x *query.Like) (string, error) {
	f := x.Field
	if isAttr(f) {
		return c.attr([]query.Expr{x})
	}
	col, ok := columns[f.Kind]
	if !ok {
		return "", query.Errorf(f.Pos, "unsupported field %s", f)
	}
	return c.regexpCond(col, x)
}

// regexpCond is "col matches the LIKE's expression"; an anchored literal
// prefix also narrows col to a range, so that an index does most of the
// work.
func (c *compiler) regexpCond(col string, x *query.Like) (string, error) {
	arg, err := c.d.RegexpArg(x)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("(")
	if p := literalPrefix(x.Syntax); p != "" {
		b.WriteString(col + " >= " + c.bind(p) + " AND ")
		if up, ok := prefixUpperBound(p); ok {
			b.WriteString(col + " < " + c.bind(up) + " AND ")
		}
	}
	b.WriteString(c.d.RegexpCond(col))
	c.bind(arg)
	b.WriteString(")")
	return b.String(), nil
}

// literalPrefix returns the case-sensitive literal an expression must
// start with when it is anchored at the beginning of the text.
func literalPrefix(re *syntax.Regexp) string {
	if re == nil || re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return ""
	}
	if re.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	lit := re.Sub[1]
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 {
		return ""
	}
	return string(lit.Rune)
}

// prefixUpperBound returns the least string greater than every string
// starting with p: p with its last rune incremented (UTF-8 byte order is
// code point order).
func prefixUpperBound(p string) (string, bool) {
	rs := []rune(p)
	for len(rs) > 0 {
		last := rs[len(rs)-1] + 1
		if last == 0xD800 {
			last = 0xE000
		}
		if last <= utf8.MaxRune {
			rs[len(rs)-1] = last
			return string(rs), true
		}
		rs = rs[:len(rs)-1]
	}
	return "", false
}

// attr compiles conditions on one metadata field or tag: for each declared
// type among the buckets in scope, "the version has the attribute and its
// value satisfies every term".
func (c *compiler) attr(terms []query.Expr) (string, error) {
	subs, err := c.attrSubqueries(terms)
	if err != nil {
		return "", err
	}
	parts := make([]string, len(subs))
	for i, sub := range subs {
		parts[i] = "v.id IN (" + sub + ")"
	}
	switch len(parts) {
	case 0:
		return "1 = 0", nil
	case 1:
		return parts[0], nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", nil
}

// attrSubqueries returns, for each declared type among the buckets in
// scope, the query of the ids of versions having the attribute with a
// value satisfying every term.
func (c *compiler) attrSubqueries(terms []query.Expr) ([]string, error) {
	f, _ := attrField(terms[0])
	kind := attrKind(f)
	declared := c.types[f.String()] // none for destinations: strings
	groups := map[store.FieldType][]string{}
	var others []string // buckets with a declared (non-string) type, when scope is every bucket
	if c.buckets != nil {
		for _, b := range c.buckets {
			t := declared[b]
			if t == "" {
				t = store.TypeString
			}
			groups[t] = append(groups[t], b)
		}
	} else {
		for b, t := range declared {
			groups[t] = append(groups[t], b)
			others = append(others, b)
		}
		groups[store.TypeString] = nil // every other bucket
	}
	var subs []string
	for _, t := range []store.FieldType{store.TypeString, store.TypeInt, store.TypeFloat, store.TypeDate} {
		bs, ok := groups[t]
		if !ok {
			continue
		}
		slices.Sort(bs)
		var b strings.Builder
		b.WriteString("SELECT vid FROM attrs WHERE ")
		switch {
		case c.buckets == nil && t == store.TypeString:
			if len(others) > 0 {
				slices.Sort(others)
				b.WriteString("bucket NOT IN " + c.bucketList(others) + " AND ")
			}
		case len(bs) == 1:
			b.WriteString("bucket = " + c.bind(bs[0]) + " AND ")
		default:
			b.WriteString("bucket IN " + c.bucketList(bs) + " AND ")
		}
		fmt.Fprintf(&b, "kind = %d AND name = %s", kind, c.bind(f.Name))
		for _, term := range terms {
			vc, err := c.attrValueCond(term, t)
			if err != nil {
				return nil, err
			}
			b.WriteString(" AND " + vc)
		}
		subs = append(subs, b.String())
	}
	return subs, nil
}

// driver is a query of version ids (column vid) that a search can start
// from instead of scanning versions in key order.
type driver struct {
	sql  string
	args []any
}

// drivers returns the candidate drivers of a where clause: for each
// top-level conjunct that an index serves (the terms on one metadata field
// or tag, or a comparison on content-length, last-modified or
// content-type), the ids satisfying it.
func (c *compiler) drivers(e query.Expr) []driver {
	if e == nil {
		return nil
	}
	terms := flattenAnd(e)
	byField := map[string][]query.Expr{}
	var order []string
	for _, t := range terms {
		if f, ok := attrField(t); ok {
			k := f.String()
			if byField[k] == nil {
				order = append(order, k)
			}
			byField[k] = append(byField[k], t)
		}
	}
	var out []driver
	for _, k := range order {
		sub := &compiler{d: c.d, buckets: c.buckets, types: c.types}
		subs, err := sub.attrSubqueries(byField[k])
		if err == nil && len(subs) == 1 {
			out = append(out, driver{sql: subs[0], args: sub.args})
		}
	}
	for _, t := range terms {
		x, ok := t.(*query.Compare)
		if !ok || x.Op == query.OpNe {
			continue
		}
		switch x.Field.Kind {
		case query.FieldContentLength, query.FieldLastModified, query.FieldContentType:
		default:
			continue
		}
		sub := &compiler{d: c.d, buckets: c.buckets, types: c.types}
		var b strings.Builder
		b.WriteString("SELECT v.id AS vid FROM versions v WHERE ")
		switch len(c.buckets) {
		case 0:
		case 1:
			b.WriteString("v.bucket = " + sub.bind(c.buckets[0]) + " AND ")
		default:
			b.WriteString("v.bucket IN " + sub.bucketList(c.buckets) + " AND ")
		}
		cond, err := sub.compare(x)
		if err != nil {
			continue
		}
		b.WriteString(cond)
		out = append(out, driver{sql: b.String(), args: sub.args})
	}
	return out
}

func flattenAnd(e query.Expr) []query.Expr {
	if a, ok := e.(*query.And); ok {
		return append(flattenAnd(a.X), flattenAnd(a.Y)...)
	}
	return []query.Expr{e}
}

// scope compiles the part of the WHERE clause every search shares.
func (s *Store) scope(ctx context.Context, sc store.Scope) (where string, args []any, c *compiler, empty bool, err error) {
	if sc.Buckets != nil && len(sc.Buckets) == 0 {
		return "", nil, nil, true, nil
	}
	if len(sc.Buckets) > store.MaxBuckets {
		return "", nil, nil, false, fmt.Errorf("%w: more than %d buckets", store.ErrInvalidInput, store.MaxBuckets)
	}
	if len(sc.Prefix) > store.MaxKeyLen || !utf8.ValidString(sc.Prefix) || strings.IndexByte(sc.Prefix, 0) >= 0 {
		return "", nil, nil, false, fmt.Errorf("%w: prefix is not a valid key prefix", store.ErrInvalidInput)
	}
	c = &compiler{d: &s.d}
	if sc.Buckets != nil {
		c.buckets = slices.Compact(slices.Sorted(slices.Values(sc.Buckets)))
	} else if sc.Where != nil {
		// Every bucket: name them, so that the attribute indexes (which
		// start with the bucket) serve the search.
		all, err := s.allBuckets(ctx)
		if err != nil {
			return "", nil, nil, false, err
		}
		if len(all) == 0 {
			return "", nil, nil, true, nil
		}
		if len(all) <= store.MaxBuckets {
			c.buckets = all
		}
	}
	if err := s.loadTypes(ctx, c, sc.Where); err != nil {
		return "", nil, nil, false, err
	}
	// Tombstones and versions known only from updates are no results.
	conds := []string{"v.removed = 0", "v.life <> ''"}
	if !sc.Versions {
		conds = append(conds, "v.is_latest = 1", "v.is_delete_marker = 0")
	}
	switch len(c.buckets) {
	case 0:
	case 1:
		conds = append(conds, "v.bucket = "+c.bind(c.buckets[0]))
	default:
		conds = append(conds, "v.bucket IN "+c.bucketList(c.buckets))
	}
	if sc.Prefix != "" {
		conds = append(conds, "v.key >= "+c.bind(sc.Prefix))
		if up, ok := prefixUpperBound(sc.Prefix); ok {
			conds = append(conds, "v.key < "+c.bind(up))
		}
	}
	if sc.Where != nil {
		w, err := c.expr(sc.Where)
		if err != nil {
			return "", nil, nil, false, err
		}
		conds = append(conds, w)
	}
	return strings.Join(conds, " AND "), c.args, c, false, nil
}

// allBuckets returns every bucket the index has seen, in order.
func (s *Store) allBuckets(ctx context.Context) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT bucket FROM buckets ORDER BY bucket`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// probeLimit bounds the count of a driver probe: a driver is used only when
// it selects fewer ids, so that sorting its results stays cheap.
var probeLimit = 2000

// plan returns the FROM clause of a search and the arguments it binds:
// with Dialect.Probe, the most selective driver when one selects fewer
// than probeLimit ids, else the key-order scan.
func (s *Store) plan(ctx context.Context, c *compiler, where query.Expr) (string, []any, error) {
	if !s.d.Probe {
		return "versions v", nil, nil
	}
	best, bestN := -1, probeLimit
	ds := c.drivers(where)
	for i, d := range ds {
		var n int
		q := s.d.Rebind(`SELECT count(*) FROM (` + d.sql + ` LIMIT ?) p`)
		if err := s.reader.QueryRowContext(ctx, q, append(slices.Clone(d.args), probeLimit)...).Scan(&n); err != nil {
			return "", nil, err
		}
		if n < bestN {
			best, bestN = i, n
		}
		if n < 100 {
			break
		}
	}
	if best < 0 {
		return "versions v" + s.d.KeyOrderHint, nil, nil
	}
	return "(" + ds[best].sql + ") d CROSS JOIN versions v ON v.id = d.vid", ds[best].args, nil
}

// loadTypes reads the declared types of the fields the query uses.
func (s *Store) loadTypes(ctx context.Context, c *compiler, e query.Expr) error {
	var fields []string
	query.Walk(e, func(x query.Expr) bool {
		var f query.Field
		switch y := x.(type) {
		case *query.Compare:
			f = y.Field
		default:
			return true
		}
		if f.Kind == query.FieldMeta || f.Kind == query.FieldTag {
			fields = append(fields, f.String())
		}
		return true
	})
	if len(fields) == 0 {
		return nil
	}
	fields = slices.Compact(slices.Sorted(slices.Values(fields)))
	q := `SELECT field, bucket, type FROM field_types WHERE field IN (` + placeholders(len(fields)) + `)`
	args := make([]any, 0, len(fields)+len(c.buckets))
	for _, f := range fields {
		args = append(args, f)
	}
	if c.buckets != nil {
		q += ` AND bucket IN (` + placeholders(len(c.buckets)) + `)`
		for _, b := range c.buckets {
			args = append(args, b)
		}
	}
	rows, err := s.reader.QueryContext(ctx, s.d.Rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	c.types = map[string]map[string]store.FieldType{}
	for rows.Next() {
		var f, b, t string
		if err := rows.Scan(&f, &b, &t); err != nil {
			return err
		}
		if c.types[f] == nil {
			c.types[f] = map[string]store.FieldType{}
		}
		c.types[f][b] = store.FieldType(t)
	}
	return rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Search implements store.Store.
func (s *Store) Search(ctx context.Context, in store.SearchInput) (store.SearchResult, error) {
	var res store.SearchResult
	if s.closed.Load() {
		return res, store.ErrClosed
	}
	limit := in.Limit
	if limit == 0 {
		limit = store.DefaultLimit
	}
	if limit < 0 || limit > store.MaxLimit {
		return res, fmt.Errorf("%w: limit %d not in 1..%d", store.ErrInvalidInput, in.Limit, store.MaxLimit)
	}
	where, args, c, empty, err := s.scope(ctx, in.Scope)
	if err != nil || empty {
		return res, s.wrap("search", err)
	}
	from, fromArgs, err := s.plan(ctx, c, in.Where)
	if err != nil {
		return res, s.wrap("search", err)
	}
	args = slices.Concat(fromArgs, args)
	if a := in.After; a != nil {
		switch {
		case len(c.buckets) == 1 && a.Bucket > c.buckets[0]:
			return res, nil // past the only bucket
		case len(c.buckets) == 1 && a.Bucket < c.buckets[0]:
			// before the only bucket: from its start
		case len(c.buckets) == 1 && a.VersionID == "":
			// Plain key ranges, which every index serves.
			where += " AND v.key > ?"
			args = append(args, a.Key)
		case len(c.buckets) == 1:
			where += " AND v.key >= ? AND (v.key > ? OR v.version_id > ?)"
			args = append(args, a.Key, a.Key, a.VersionID)
		case a.VersionID == "":
			where += " AND v.bucket >= ? AND (v.bucket, v.key) > (?, ?)"
			args = append(args, a.Bucket, a.Bucket, a.Key)
		default:
			where += " AND v.bucket >= ? AND (v.bucket, v.key, v.version_id) > (?, ?, ?)"
			args = append(args, a.Bucket, a.Bucket, a.Key, a.VersionID)
		}
	}
	q := `SELECT v.bucket, v.key, v.version_id, v.is_latest, v.is_delete_marker, v.size, v.etag, v.content_type,
		v.last_modified, v.location, v.replication_status, v.source, v.seq, v.maps
		FROM ` + from + ` WHERE ` + where + ` ORDER BY v.bucket, v.key, v.version_id LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.reader.QueryContext(ctx, s.d.Rebind(q), args...)
	if err != nil {
		return res, s.wrap("search", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.Record
		var latest, dm, lm int64
		var maps string
		if err := rows.Scan(&r.Bucket, &r.Key, &r.VersionID, &latest, &dm, &r.Size, &r.ETag, &r.ContentType,
			&lm, &r.Location, &r.ReplicationStatus, &r.Source, &r.Sequencer, &maps); err != nil {
			return res, s.wrap("search", err)
		}
		r.IsLatest, r.IsDeleteMarker = latest != 0, dm != 0
		r.LastModified = time.UnixMicro(lm).UTC()
		if r.UserMetadata, r.Tags, r.Replication, err = recordMaps(maps); err != nil {
			return res, s.wrap("search", fmt.Errorf("%s/%s@%s: %w", r.Bucket, r.Key, r.VersionID, err))
		}
		res.Records = append(res.Records, r)
	}
	if err := rows.Err(); err != nil {
		return res, s.wrap("search", err)
	}
	if len(res.Records) > limit {
		res.Records = res.Records[:limit]
		last := res.Records[limit-1]
		res.Next = &store.Cursor{Bucket: last.Bucket, Key: last.Key, VersionID: last.VersionID}
	}
	return res, nil
}

var groupColumns = map[store.GroupBy]string{
	store.GroupBucket:            "v.bucket",
	store.GroupLocation:          "v.location",
	store.GroupContentType:       "v.content_type",
	store.GroupReplicationStatus: "v.replication_status",
}

// Aggregate implements store.Store.
func (s *Store) Aggregate(ctx context.Context, in store.AggregateInput) ([]store.Group, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	col, ok := groupColumns[in.By]
	if !ok {
		return nil, fmt.Errorf("%w: unknown group %q", store.ErrInvalidInput, in.By)
	}
	where, args, _, empty, err := s.scope(ctx, in.Scope)
	if err != nil || empty {
		return nil, s.wrap("aggregate", err)
	}
	q := `SELECT ` + col + `, COUNT(*), COALESCE(SUM(v.size), 0) FROM versions v WHERE ` + where +
		` GROUP BY ` + col + ` ORDER BY ` + col
	rows, err := s.reader.QueryContext(ctx, s.d.Rebind(q), args...)
	if err != nil {
		return nil, s.wrap("aggregate", err)
	}
	defer rows.Close()
	out := []store.Group{}
	for rows.Next() {
		var g store.Group
		if err := rows.Scan(&g.Value, &g.Count, &g.Bytes); err != nil {
			return nil, s.wrap("aggregate", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("aggregate", err)
	}
	return out, nil
}
