// Package sqlite is the embedded index store: one SQLite file
// (modernc.org/sqlite, pure Go) in WAL mode. Writes go through a single
// connection that begins transactions IMMEDIATE, so several processes may
// share the file; searches use a separate read pool and see consistent
// snapshots. LIKE evaluates Go regular expressions (RE2) through a
// registered SQL function.
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
		overrides TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS versions_key ON versions (bucket, key, version_id)`,
	`CREATE INDEX IF NOT EXISTS versions_size ON versions (bucket, size)`,
	`CREATE INDEX IF NOT EXISTS versions_last_modified ON versions (bucket, last_modified)`,
	`CREATE INDEX IF NOT EXISTS versions_content_type ON versions (bucket, content_type)`,
	`CREATE TABLE IF NOT EXISTS attrs (
		vid INTEGER NOT NULL,
		kind INTEGER NOT NULL,
		name TEXT NOT NULL,
		value TEXT NOT NULL,
		num REAL,
		tm INTEGER,
		bucket TEXT NOT NULL,
		PRIMARY KEY (vid, kind, name)
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS attrs_value ON attrs (bucket, kind, name, value)`,
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

// Open opens (creating if needed) the index database at cfg.Path. It returns
// an error wrapping ErrInvalidConfig for a bad Config, or the database's
// error. The store must be closed.
func Open(ctx context.Context, cfg Config) (store.Store, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("%w: empty path", ErrInvalidConfig)
	}
	if strings.ContainsAny(cfg.Path, "?#") {
		return nil, fmt.Errorf("%w: path %q must not contain '?' or '#'", ErrInvalidConfig, cfg.Path)
	}
	if err := registerOnce(); err != nil {
		return nil, fmt.Errorf("sqlite: register %s: %w", regexpFunc, err)
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
	writer, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	rq := url.Values{}
	for k, v := range q {
		rq[k] = append([]string(nil), v...)
	}
	rq.Add("_pragma", "query_only(1)")
	reader, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+rq.Encode())
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	reader.SetMaxOpenConns(cfg.ReadConns)
	reader.SetMaxIdleConns(cfg.ReadConns)
	closeBoth := func() error { return errors.Join(reader.Close(), writer.Close()) }
	d := sqlstore.Dialect{
		Name:         "sqlite",
		RegexpCond:   func(col string) string { return regexpFunc + "(?, " + col + ")" },
		RegexpArg:    func(l *query.Like) (any, error) { return l.Regexp.String(), nil },
		MaxParams:    32766,
		Probe:        true,
		KeyOrderHint: " INDEXED BY versions_key",
		Schema:       schema,
	}
	s, err := sqlstore.New(ctx, d, writer, reader, closeBoth)
	if err != nil {
		_ = closeBoth()
		return nil, err
	}
	return s, nil
}
