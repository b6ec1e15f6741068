// Package indexer is the indexer service: it consumes object events from
// JetStream through its own durable consumer (replicas share it), keeps one
// record per object version in the index (package store: SQLite embedded,
// PostgreSQL shared), and answers searches:
//
//   - the Zenko-compatible bucket search (GET /{bucket}?search=<where
//     clause> on the S3 endpoint, which s3front proxies to
//     RouteBucketSearch), answering a ListBucketResult;
//   - the JSON catalog across buckets, with the bucket field and
//     aggregations (RouteSearch, RouteAggregate; CatalogHandler for the
//     public, per-caller form);
//   - typed metadata declarations (RouteTypes).
//
// Events are applied in batches, one store transaction per batch, and a
// message is acknowledged only after its batch committed: a replica that
// dies mid-batch loses nothing, as its unacknowledged messages go to
// another replica, and re-applying them is harmless because the index is
// idempotent and order-safe (see package store).
//
// Rebuild reconstructs a bucket's index from a listing of the source of
// truth (S3 ListObjectVersions through S3Lister); the running consumer then
// follows the stream, and every event newer than the listing wins.
package indexer
