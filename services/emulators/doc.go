// Package emulators starts the storage emulators Sluice's tests run
// against — MinIO (S3), Azurite (Azure Blob) and fake-gcs-server (Google
// Cloud Storage) — as child processes of the test.
//
// It is an ordinary (non-_test) package so that every module's tests share
// one helper, like events/natstest. Every emulator:
//
//   - binds 127.0.0.1 on an ephemeral port and keeps its data in
//     t.TempDir();
//   - is polled for readiness with a deadline, never waited for by sleeping;
//   - is stopped, and waited for, in t.Cleanup;
//   - can be stopped, killed and restarted on the same port and data
//     directory, so tests can take a destination down and bring it back
//     (fake-gcs-server keeps its objects in memory unless started with
//     FakeGCSOnDisk).
//
// When an emulator's binary cannot be found or does not start, the starter
// skips the test with the reason, or fails it when the environment variable
// SLUICE_REQUIRE_EMULATORS is "1" (as CI sets it).
//
// Where the binaries are looked up, in order:
//
//	MinIO            $SLUICE_MINIO_BIN, "minio" on PATH, $GOPATH/bin/minio
//	                 (go install github.com/minio/minio@latest)
//	Azurite          $SLUICE_AZURITE_BIN, "azurite-blob" on PATH,
//	                 $HOME/.cache/sluice/azurite/node_modules/.bin/azurite-blob
//	                 (npm install --prefix $HOME/.cache/sluice/azurite azurite@3.35.0;
//	                 needs node on PATH)
//	fake-gcs-server  $SLUICE_FAKE_GCS_BIN, "fake-gcs-server" on PATH,
//	                 $GOPATH/bin/fake-gcs-server
//	                 (go install github.com/fsouza/fake-gcs-server@v1.56.1)
//
// $GOPATH defaults to $HOME/go. fake-gcs-server runs out of process rather
// than in-process through its fakestorage package because the location
// conformance suite measures the test process's allocations while it
// streams large objects; an in-process server would count its own.
//
// Each emulator writes its output to a log file in its temp directory; when
// it fails to start, the tail of that log is in the test output. Set
// SLUICE_TEST_EMULATOR_LOG=1 to also copy the output to the test's stderr.
package emulators
