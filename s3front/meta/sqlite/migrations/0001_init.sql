-- Buckets, object versions, multipart uploads, outbox. Keys use SQLite's default
-- BINARY collation: UTF-8 byte order, the same as PostgreSQL's COLLATE "C".
CREATE TABLE buckets (
	name       TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	location   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	versioning TEXT NOT NULL DEFAULT ''
);
CREATE INDEX buckets_owner ON buckets (owner, name);

CREATE TABLE bucket_configs (
	bucket TEXT NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
	kind   TEXT NOT NULL,
	doc    BLOB NOT NULL,
	PRIMARY KEY (bucket, kind)
);

CREATE TABLE objects (
	bucket             TEXT NOT NULL REFERENCES buckets (name),
	key                TEXT NOT NULL,
	version_id         TEXT NOT NULL,
	created_seq        INTEGER NOT NULL,
	sequencer          INTEGER NOT NULL,
	is_latest          BOOLEAN NOT NULL,
	is_delete_marker   BOOLEAN NOT NULL,
	size               INTEGER NOT NULL,
	etag               TEXT NOT NULL,
	content_type       TEXT NOT NULL,
	headers            TEXT NOT NULL,
	user_metadata      TEXT NOT NULL,
	tags               TEXT NOT NULL,
	checksums          TEXT NOT NULL,
	storage_class      TEXT NOT NULL,
	location           TEXT NOT NULL,
	data_key           TEXT NOT NULL,
	owner              TEXT NOT NULL,
	last_modified      INTEGER NOT NULL,
	replication_status TEXT NOT NULL,
	replication        TEXT NOT NULL,
	parts_count        INTEGER NOT NULL,
	parts              TEXT NOT NULL,
	PRIMARY KEY (bucket, key, version_id)
);
-- At most one latest version per key.
CREATE UNIQUE INDEX objects_latest ON objects (bucket, key) WHERE is_latest;
-- ListObjects walks this partial index in key order.
CREATE INDEX objects_current ON objects (bucket, key) WHERE is_latest AND NOT is_delete_marker;
-- ListObjectVersions: key order, newest first.
CREATE INDEX objects_versions ON objects (bucket, key, created_seq DESC);

CREATE TABLE uploads (
	upload_id          TEXT PRIMARY KEY,
	bucket             TEXT NOT NULL REFERENCES buckets (name),
	key                TEXT NOT NULL,
	seq                INTEGER NOT NULL,
	owner              TEXT NOT NULL,
	content_type       TEXT NOT NULL,
	headers            TEXT NOT NULL,
	user_metadata      TEXT NOT NULL,
	tags               TEXT NOT NULL,
	checksum_algorithm TEXT NOT NULL,
	checksum_type      TEXT NOT NULL,
	storage_class      TEXT NOT NULL,
	location           TEXT NOT NULL,
	initiated          INTEGER NOT NULL
);
CREATE INDEX uploads_by_key ON uploads (bucket, key, seq);

CREATE TABLE parts (
	upload_id     TEXT NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
	part_number   INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	etag          TEXT NOT NULL,
	checksums     TEXT NOT NULL,
	location      TEXT NOT NULL,
	data_key      TEXT NOT NULL,
	last_modified INTEGER NOT NULL,
	PRIMARY KEY (upload_id, part_number)
);

-- AUTOINCREMENT: row ids are never reused, even after the table empties.
CREATE TABLE outbox (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id   TEXT NOT NULL,
	subject    TEXT NOT NULL,
	headers    TEXT NOT NULL,
	body       BLOB NOT NULL,
	created_at INTEGER NOT NULL
);

-- The sequencer: one counter row, incremented inside each mutating transaction.
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('sequencer', 0);
