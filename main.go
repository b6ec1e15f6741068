// Command sluice is the one Sluice binary: `sluice run all` runs every service in one
// process with an embedded NATS server; `sluice run <target>` runs one service;
// `sluice check-config` validates a configuration; `sluice version` prints the build.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	ctx := context.Background()
	os.Exit(runCLI(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// usage is printed for -h and for unknown commands.
const usage = `usage:
  sluice run all|<target> [flags]   run every service in one process, or one service
  sluice events <command>           event delivery: targets, status, pause, resume,
                                    dead-letters, redrive, test (sluice events -h)
  sluice replication <command>      replication: status, bucket, pause, resume, failed,
                                    retry, resync (sluice replication -h)
  sluice index rebuild [-bucket B]  rebuild the metadata index from a listing of the S3 endpoint
  sluice check-config [flags]       load, validate and print the configuration (secrets redacted)
  sluice version                    print the version

targets: %s

run "sluice run -h" for the flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func printUsage(w interface{ Write([]byte) (int, error) }) {
	fmt.Fprintf(w, usage, targetNames())
}
