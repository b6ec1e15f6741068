package main

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/indexer"
)

// cmdIndex runs `sluice index rebuild [-bucket B]`: it rebuilds the metadata index of one
// bucket, or of every bucket, from a listing of the S3 endpoint (the source of truth).
// A running indexer keeps following the event stream meanwhile; a real event always
// wins over a listed entry, so nothing the stream says is undone.
func cmdIndex(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rebuild" {
		fmt.Fprintln(stderr, "usage: sluice index rebuild [-bucket B] [-endpoint URL] [flags]")
		return exitUsage
	}
	fs, fv := newFlagSet("index rebuild", stderr)
	bucket := fs.String("bucket", "", "rebuild only this bucket (default: every bucket)")
	endpoint := fs.String("endpoint", "", "S3 endpoint to list (default: http://<s3.listen>)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageCode(err)
	}
	cfg, err := fv.load(lookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: configuration is invalid: %v\n", err)
		return exitFailed
	}
	if *endpoint == "" {
		*endpoint = "http://" + cfg.S3.Listen
	}
	st, err := indexer.OpenStore(ctx, cfg.Indexer, cfg.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "sluice index rebuild: %v\n", err)
		return exitFailed
	}
	defer st.Close()
	client := s3.New(s3.Options{
		Region:       cfg.S3.Region,
		BaseEndpoint: aws.String(*endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.RootAccessKey, cfg.RootSecretKey, ""),
	})
	stats, err := indexer.Rebuild(ctx, st, &indexer.S3Lister{Client: client}, *bucket, indexer.RebuildOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "sluice index rebuild: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "rebuilt %d bucket(s), %d version(s)\n", stats.Buckets, stats.Versions)
	return exitOK
}
