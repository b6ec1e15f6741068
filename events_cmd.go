package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sluice-io/sluice/events/deliver/admin"
)

// eventsUsage documents `sluice events`.
const eventsUsage = `usage: sluice events [-admin URL] <command> [args]

  targets                         every target with its status
  status NAME                     one target: backlog, last success, last error, rate
  pause NAME [-for DURATION]      stop delivering to NAME (until resumed, or for DURATION)
  resume NAME
  dead-letters NAME [-limit N]    events NAME gave up on, with the last error
  redrive NAME (-all | SEQ...)    send dead letters back to NAME
  test NAME -bucket BUCKET        send an s3:TestEvent to NAME

-admin is the process HTTP listener of a process running the events target
(default http://127.0.0.1:9601, or $SLUICE_ADMIN_URL). Output is JSON.
`

// cmdEvents drives the delivery admin API of a running process.
func cmdEvents(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, eventsUsage) }
	def := "http://127.0.0.1:9601"
	if v, ok := lookupEnv("SLUICE_ADMIN_URL"); ok && v != "" {
		def = v
	}
	base := fs.String("admin", def, "admin URL of the process running the events target")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	client, err := admin.NewClient(*base, nil)
	if err != nil {
		fmt.Fprintf(stderr, "sluice events: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	cmd, rest := fs.Arg(0), fs.Args()[1:]
	sub := flag.NewFlagSet("events "+cmd, flag.ContinueOnError)
	sub.SetOutput(stderr)
	pauseFor := sub.Duration("for", 0, "pause: resume automatically after this long")
	limit := sub.Int("limit", 100, "dead-letters: at most this many")
	all := sub.Bool("all", false, "redrive: every dead letter of the target")
	bucket := sub.String("bucket", "", "test: the bucket named in the test event")
	name := ""
	if len(rest) > 0 && cmd != "targets" {
		name, rest = rest[0], rest[1:]
	}
	if err := sub.Parse(rest); err != nil {
		return usageCode(err)
	}
	if cmd != "targets" && name == "" {
		fmt.Fprintf(stderr, "sluice events %s: name a target\n", cmd)
		return exitUsage
	}

	var out any
	switch cmd {
	case "targets":
		out, err = client.Targets(ctx)
	case "status":
		out, err = client.Status(ctx, name)
	case "pause":
		var until time.Time
		if *pauseFor > 0 {
			until = time.Now().Add(*pauseFor)
		}
		out, err = client.Pause(ctx, name, until)
	case "resume":
		out, err = client.Resume(ctx, name)
	case "dead-letters":
		out, err = client.DeadLetters(ctx, name, *limit)
	case "redrive":
		var n int
		if *all {
			n, err = client.RedriveAll(ctx, name)
		} else {
			seqs := make([]uint64, 0, sub.NArg())
			for _, a := range sub.Args() {
				s, perr := strconv.ParseUint(a, 10, 64)
				if perr != nil {
					fmt.Fprintf(stderr, "sluice events redrive: %q is not a sequence number\n", a)
					return exitUsage
				}
				seqs = append(seqs, s)
			}
			if len(seqs) == 0 {
				fmt.Fprintln(stderr, "sluice events redrive: give -all or sequence numbers")
				return exitUsage
			}
			n, err = client.Redrive(ctx, name, seqs)
		}
		out = map[string]int{"redriven": n}
	case "test":
		if *bucket == "" {
			fmt.Fprintln(stderr, "sluice events test: -bucket is required")
			return exitUsage
		}
		var id string
		id, err = client.SendTestEvent(ctx, name, *bucket)
		out = map[string]string{"event_id": id}
	default:
		fmt.Fprintf(stderr, "sluice events: unknown command %q\n", cmd)
		fs.Usage()
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice events %s: %v\n", cmd, err)
		return exitFailed
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "sluice events: %v\n", err)
		return exitFailed
	}
	return exitOK
}
