// Package indexer consumes object events and keeps a searchable metadata index across
// buckets and clouds, serving the Zenko-compatible search API and the JSON catalog.
// It is filled in by the indexer issue.
package indexer
