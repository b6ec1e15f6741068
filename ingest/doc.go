// Package ingest brings existing buckets and foreign S3-style event feeds into the
// Sluice pipeline: it lists external stores and translates their change notifications
// into Sluice CloudEvents on JetStream. It is filled in by the ingest issue.
package ingest
