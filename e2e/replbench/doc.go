// Package replbench runs a split Sluice deployment that replicates to MinIO, and
// measures it.
//
// A Deployment is three real processes on 127.0.0.1 ephemeral ports:
//
//   - MinIO, the replication destination (one bucket, configured in Sluice as the s3
//     location "minio");
//   - `sluice run s3front` with its embedded NATS server, SQLite metadata and the fs
//     location "local" under its data directory;
//   - `sluice run replicator`, connected to that NATS server, reading objects through
//     the s3front endpoint and writing them to the "minio" location.
//
// Both Sluice processes read their configuration from a YAML file (SLUICE_CONFIG)
// written by Start; they are e2e/stack processes, so a test can SIGKILL the replicator
// and start it again on the same ports.
//
// The measurements:
//
//   - MeasureLag offers a fixed PUT rate (open loop: the i-th PUT is due at start +
//     i/rate whatever the earlier ones did) of equal-sized objects and reports the
//     replication lag from each PUT's acknowledgment to the moment this process
//     receives the replicator's COMPLETED status event for it on SLUICE_STATUS. The
//     replicator publishes that event only after the replica is written and its
//     checkpoint stored, so the figure bounds "acknowledged → readable on MinIO" from
//     above.
//   - MeasureThroughput copies N large objects from Sluice to MinIO twice with the same
//     concurrency: by replication (objects PUT while the destination is paused, then
//     timed from Resume to the last COMPLETED status), and by a plain streaming copy
//     (GetObject from Sluice piped into the aws-sdk-go-v2 transfer manager's
//     UploadObject to MinIO).
//
// Every result carries the load average (/proc/loadavg) read when it was taken, because
// the machine these run on is shared.
package replbench
