// Package indexer is the indexer service: it consumes object events from
// JetStream through its own durable consumer (replicas share it), and the
// replicator's results from the status stream through a second one, keeps
// one record per object version in the index (package store: SQLite
// embedded, PostgreSQL shared), and answers searches:
//
//   - the Zenko-compatible bucket search (GET /{bucket}?search=<where
//     clause> on the S3 endpoint, which s3front proxies to
//     RouteBucketSearch), answering a ListBucketResult;
//   - the JSON catalog across buckets, with the bucket field and
//     aggregations (RouteSearch, RouteAggregate for operators;
//     RouteCatalog, RouteCatalogAggregate for the buckets the
//     CatalogBucketsHeader names, where s3front forwards its public
//     GET /search; CatalogHandler for any other resolver);
//   - typed metadata declarations (RouteTypes).
//
// Events are applied in batches, one store transaction per batch, and a
// message is acknowledged only after its batch committed: a replica that
// dies mid-batch loses nothing, as its unacknowledged messages go to
// another replica, and re-applying them is harmless because the index is
// idempotent and order-safe (see package store). A batch that fills up
// while more events wait (a backlog) takes them too, up to MaxBatchSize.
//
// Replication status: each record keeps its status per destination
// (replication-status.<destination> in queries) and the overall status
// derived from them (replication-status). Both come from the status stream
// (EventFromStatus), which carries every result, COMPLETED and FAILED; the
// Replication:* events on the events stream only notify failures and late
// copies, so the index ignores them.
//
// Removed versions leave tombstones so that a late, older event cannot
// bring them back; the service purges those older than TombstoneRetention
// (24 hours by default, far beyond any redelivery) every CleanupInterval.
//
// Rebuild reconstructs a bucket's index from a listing of the source of
// truth (S3 ListObjectVersions through S3Lister); the running consumer then
// follows the stream, and every event newer than the listing wins.
package indexer
