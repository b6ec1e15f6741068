// Package sqlite is the embedded index store: one SQLite file
// (modernc.org/sqlite, pure Go) in WAL mode. Writes go through a single
// connection that begins transactions IMMEDIATE, so several processes may
// share the file; searches use a separate read pool and see consistent
// snapshots. LIKE evaluates Go regular expressions (RE2) through a
// registered SQL function.
//
// Durability: synchronous=NORMAL. A commit is in the WAL (in the operating
// system's cache) when Apply returns, so a crash of the process loses
// nothing acknowledged; the WAL is fsynced when it is checkpointed, so a
// crash of the machine (power loss) can lose the last commits before the
// checkpoint, though never the file's consistency. The indexer acks events
// once Apply returned, so those events would not come again: the index is
// derived data, and `sluice index rebuild` restores it from the source of
// truth. In exchange, a batch costs no fsync. The WAL is copied into the
// database in the background (see checkpointer).
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/internal/sqlstore"
)

// ErrInvalidConfig is returned by Open for a bad Config.
var ErrInvalidConfig = errors.New("sqlite: invalid config")

// Config configures Open.
type Config struct {
	// Path is the database file; it and its -wal/-shm companions are
	// created when missing. Required.
	Path string
	// ReadConns is the size of the read pool; 4 when zero.
	ReadConns int
	// BusyTimeout bounds waits for locks held by other processes; 10s when
	// zero.
	BusyTimeout time.Duration
	// Now is the clock tombstone ages are measured with; time.Now when
	// nil.
	Now func() time.Time
}

// regexpFunc is the SQL function LIKE compiles to: regexpFunc(pattern, value).
const regexpFunc = "sluice_index_regexp"

var registerOnce = sync.OnceValue(func() error {
	return msqlite.RegisterDeterministicScalarFunction(regexpFunc, 2, matchRegexp)
})

// reCache holds compiled patterns; it is reset when it grows past
// reCacheMax entries.
var (
	reMu    sync.Mutex
	reCache = map[string]*regexp.Regexp{}
)

const reCacheMax = 256

func compiled(pattern string) (*regexp.Regexp, error) {
	reMu.Lock()
	re, ok := reCache[pattern]
	reMu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	reMu.Lock()
	if len(reCache) >= reCacheMax {
		clear(reCache)
	}
	reCache[pattern] = re
	reMu.Unlock()
	return re, nil
}

func matchRegexp(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	pat, ok := args[0].(string)
	if !ok {
		return nil, errors.New(regexpFunc + ": pattern must be text")
	}
	re, err := compiled(pat)
	if err != nil {
		return nil, err
	}
	switch v := args[1].(type) {
	case string:
		return b2i(re.MatchString(v)), nil
	case []byte:
		return b2i(re.Match(v)), nil
	case nil:
		return nil, nil
	default:
		return int64(0), nil
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// schema is the current layout (sqlstore.SchemaVersion). Attributes are
// keyed by value: the key serves equality, ranges and prefixes on a
// field's values, and is the only index an attribute row costs besides the
// typed ones, which hold only values with a numeric or date reading.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS versions (
		id INTEGER PRIMARY KEY,
		bucket TEXT NOT NULL,
		key TEXT NOT NULL,
		version_id TEXT NOT NULL,
		removed INTEGER NOT NULL DEFAULT 0,
		is_latest INTEGER NOT NULL DEFAULT 0,
		is_delete_marker INTEGER NOT NULL DEFAULT 0,
		size INTEGER NOT NULL DEFAULT 0,
		etag TEXT NOT NULL DEFAULT '',
		content_type TEXT NOT NULL DEFAULT '',
		last_modified INTEGER NOT NULL DEFAULT 0,
		location TEXT NOT NULL DEFAULT '',
		replication_status TEXT NOT NULL DEFAULT '',
		source TEXT NOT NULL DEFAULT '',
		seq TEXT NOT NULL DEFAULT '',
		seq_key TEXT NOT NULL DEFAULT '',
		life TEXT NOT NULL DEFAULT '',
		overrides TEXT NOT NULL DEFAULT '',
		maps TEXT NOT NULL DEFAULT '',
		applied_at INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS versions_key ON versions (bucket, key, version_id)`,
	`CREATE INDEX IF NOT EXISTS versions_size ON versions (bucket, size)`,
	`CREATE INDEX IF NOT EXISTS versions_last_modified ON versions (bucket, last_modified)`,
	`CREATE INDEX IF NOT EXISTS versions_content_type ON versions (bucket, content_type)`,
	`CREATE INDEX IF NOT EXISTS versions_dead ON versions (applied_at) WHERE (removed <> 0 OR life = '')`,
	attrsTable,
	`CREATE INDEX IF NOT EXISTS attrs_num ON attrs (bucket, kind, name, num) WHERE num IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS attrs_tm ON attrs (bucket, kind, name, tm) WHERE tm IS NOT NULL`,
	`CREATE TABLE IF NOT EXISTS buckets (bucket TEXT PRIMARY KEY) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS field_types (
		bucket TEXT NOT NULL,
		field TEXT NOT NULL,
		type TEXT NOT NULL,
		PRIMARY KEY (bucket, field)
	)`,
}

const attrsTable = `CREATE TABLE IF NOT EXISTS attrs (
		bucket TEXT NOT NULL,
		kind INTEGER NOT NULL,
		name TEXT NOT NULL,
		value TEXT NOT NULL,
		vid INTEGER NOT NULL,
		num REAL,
		tm INTEGER,
		PRIMARY KEY (bucket, kind, name, value, vid)
	) WITHOUT ROWID`

// layout counts the versions table and its maps column (see
// sqlstore.Dialect.Layout).
const layout = `SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'versions'),
	(SELECT count(*) FROM pragma_table_info('versions') WHERE name = 'maps')`

// migrateV1 upgrades a version 1 index: the maps documents are built from
// the attributes, the overall replication status is derived from the
// destinations, and the attributes are re-keyed by value.
var migrateV1 = []string{
	`ALTER TABLE versions ADD COLUMN maps TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE versions ADD COLUMN applied_at INTEGER NOT NULL DEFAULT 0`,
	`UPDATE versions SET maps = m.doc FROM (
		SELECT vid, json_group_object(k, json(o)) AS doc FROM (
			SELECT vid, CASE kind WHEN 1 THEN 'm' WHEN 2 THEN 't' ELSE 'r' END AS k, json_group_object(name, value) AS o
			FROM attrs GROUP BY vid, kind) GROUP BY vid) AS m
		WHERE versions.id = m.vid`,
	`UPDATE versions SET maps = json_set(CASE maps WHEN '' THEN '{}' ELSE maps END, '$.rb', replication_status)
		WHERE replication_status <> ''`,
	migrateV1Overall,
	`ALTER TABLE attrs RENAME TO attrs_v1`,
	`DROP INDEX IF EXISTS attrs_value`,
	`DROP INDEX IF EXISTS attrs_num`,
	`DROP INDEX IF EXISTS attrs_tm`,
	attrsTable,
	`INSERT INTO attrs (bucket, kind, name, value, vid, num, tm) SELECT bucket, kind, name, value, vid, num, tm FROM attrs_v1`,
	`DROP TABLE attrs_v1`,
}

// migrateV1Overall derives the overall replication status of the versions
// that have destinations (store.ReplicationOverall), from version 1
// attributes (keyed by version).
const migrateV1Overall = `UPDATE versions SET replication_status = CASE
		WHEN EXISTS (SELECT 1 FROM attrs a WHERE a.vid = versions.id AND a.kind = 3 AND a.value = 'FAILED') THEN 'FAILED'
		WHEN NOT EXISTS (SELECT 1 FROM attrs a WHERE a.vid = versions.id AND a.kind = 3 AND a.value <> 'COMPLETED') THEN 'COMPLETED'
		ELSE 'PENDING' END
	WHERE id IN (SELECT vid FROM attrs WHERE kind = 3)`

// Open opens (creating if needed) the index database at cfg.Path. It returns
// an error wrapping ErrInvalidConfig for a bad Config, or the database's
// error. The store must be closed.
func Open(ctx context.Context, cfg Config) (store.Store, error) {
	s, _, err := open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// open is Open, also returning the store's checkpointer.
func open(ctx context.Context, cfg Config) (*sqlstore.Store, *checkpointer, error) {
	if cfg.Path == "" {
		return nil, nil, fmt.Errorf("%w: empty path", ErrInvalidConfig)
	}
	if strings.ContainsAny(cfg.Path, "?#") {
		return nil, nil, fmt.Errorf("%w: path %q must not contain '?' or '#'", ErrInvalidConfig, cfg.Path)
	}
	if err := registerOnce(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: register %s: %w", regexpFunc, err)
	}
	if cfg.ReadConns <= 0 {
		cfg.ReadConns = 4
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-65536)") // 64 MiB page cache per connection
	q.Add("_pragma", "temp_store(MEMORY)") // statement journals in memory, not temp files
	wq := url.Values{}
	for k, v := range q {
		wq[k] = append([]string(nil), v...)
	}
	wq.Set("_txlock", "immediate")
	wq.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", backstopPages))
	wq.Add("_pragma", "cache_size(-262144)")          // 256 MiB: the index pages ingest touches stay cached
	wq.Add("_pragma", "journal_size_limit(67108864)") // a WAL started over is cut back to 64 MiB
	writer, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+wq.Encode())
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		_ = writer.Close()
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	rq := url.Values{}
	for k, v := range q {
		rq[k] = append([]string(nil), v...)
	}
	rq.Add("_pragma", "query_only(1)")
	reader, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+rq.Encode())
	if err != nil {
		_ = writer.Close()
		return nil, nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	reader.SetMaxOpenConns(cfg.ReadConns)
	reader.SetMaxIdleConns(cfg.ReadConns)
	cq := url.Values{}
	cq.Add("_pragma", "busy_timeout(5000)")
	ckdb, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+cq.Encode())
	if err != nil {
		_ = errors.Join(reader.Close(), writer.Close())
		return nil, nil, fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	ckdb.SetMaxOpenConns(1)
	ckdb.SetMaxIdleConns(1)
	ckdb.SetConnMaxLifetime(0)
	ckdb.SetConnMaxIdleTime(0)
	ck := newCheckpointer(ckdb)
	closeBoth := func() error {
		ck.close()
		return errors.Join(ckdb.Close(), reader.Close(), writer.Close())
	}
	d := sqlstore.Dialect{
		Name:         "sqlite",
		RegexpCond:   func(col string) string { return regexpFunc + "(?, " + col + ")" },
		RegexpArg:    func(l *query.Like) (any, error) { return l.Regexp.String(), nil },
		MaxParams:    32766,
		Probe:        true,
		KeyOrderHint: " INDEXED BY versions_key",
		Insert:       "INSERT OR FAIL",
		Committed:    ck.committed,
		Schema:       schema,
		Layout:       layout,
		MigrateV1:    migrateV1,
	}
	s, err := sqlstore.New(ctx, d, writer, reader, cfg.Now, closeBoth)
	if err != nil {
		_ = closeBoth()
		return nil, nil, err
	}
	return s, ck, nil
}
