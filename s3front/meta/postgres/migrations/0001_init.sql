-- Buckets, object versions, multipart uploads, outbox. Keys use COLLATE "C":
-- UTF-8 byte order, the same as SQLite's BINARY collation.
CREATE TABLE buckets (
	name       TEXT COLLATE "C" PRIMARY KEY,
	owner      TEXT NOT NULL,
	location   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	versioning TEXT NOT NULL DEFAULT ''
);
CREATE INDEX buckets_owner ON buckets (owner, name);

CREATE TABLE bucket_configs (
	bucket TEXT COLLATE "C" NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
	kind   TEXT NOT NULL,
	doc    BYTEA NOT NULL,
	PRIMARY KEY (bucket, kind)
);

CREATE TABLE objects (
	bucket             TEXT COLLATE "C" NOT NULL REFERENCES buckets (name),
	key                TEXT COLLATE "C" NOT NULL,
	version_id         TEXT COLLATE "C" NOT NULL,
	created_seq        BIGINT NOT NULL,
	sequencer          BIGINT NOT NULL,
	is_latest          BOOLEAN NOT NULL,
	is_delete_marker   BOOLEAN NOT NULL,
	size               BIGINT NOT NULL,
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
	last_modified      BIGINT NOT NULL,
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
	upload_id          TEXT COLLATE "C" PRIMARY KEY,
	bucket             TEXT COLLATE "C" NOT NULL REFERENCES buckets (name),
	key                TEXT COLLATE "C" NOT NULL,
	seq                BIGINT NOT NULL,
	owner              TEXT NOT NULL,
	content_type       TEXT NOT NULL,
	headers            TEXT NOT NULL,
	user_metadata      TEXT NOT NULL,
	tags               TEXT NOT NULL,
	checksum_algorithm TEXT NOT NULL,
	checksum_type      TEXT NOT NULL,
	storage_class      TEXT NOT NULL,
	location           TEXT NOT NULL,
	initiated          BIGINT NOT NULL
);
CREATE INDEX uploads_by_key ON uploads (bucket, key, seq);

CREATE TABLE parts (
	upload_id     TEXT COLLATE "C" NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
	part_number   INTEGER NOT NULL,
	size          BIGINT NOT NULL,
	etag          TEXT NOT NULL,
	checksums     TEXT NOT NULL,
	location      TEXT NOT NULL,
	data_key      TEXT NOT NULL,
	last_modified BIGINT NOT NULL,
	PRIMARY KEY (upload_id, part_number)
);

CREATE TABLE outbox (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id   TEXT NOT NULL,
	subject    TEXT NOT NULL,
	headers    TEXT NOT NULL,
	body       BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);

-- The sequencer: nextval inside each mutating transaction, after the per-key lock.
CREATE SEQUENCE sequencer AS BIGINT;
