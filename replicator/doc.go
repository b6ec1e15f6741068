// Package replicator consumes object events and makes every replication destination
// (S3-compatible stores, Azure Blob, Google Cloud Storage) match the source object; it
// is also the data mover for lifecycle transitions. It is filled in by the replicator issue.
package replicator
