// Command thumbnailer is a small HTTP function for Sluice: it receives
// ObjectCreated events for PNG and JPEG images and writes a thumbnail of
// each under thumbnails/. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/zap"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "thumbnailer:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8090", "address to serve the function on")
	endpoint := flag.String("endpoint", "http://127.0.0.1:9600", "Sluice (or any S3) endpoint")
	region := flag.String("region", "us-east-1", "S3 region")
	prefix := flag.String("prefix", DefaultPrefix, "key prefix of the thumbnails")
	maxSide := flag.Int("max-side", DefaultMaxSide, "largest thumbnail width or height")
	flag.Parse()

	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	// Credentials and the webhook secret come from the environment, never
	// from flags (which other users can read in the process list).
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		return errors.New("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	client := s3.NewFromConfig(aws.Config{
		Region:      *region,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	}, func(o *s3.Options) {
		o.BaseEndpoint = endpoint
		o.UsePathStyle = true
	})
	var secrets [][]byte
	if s := os.Getenv("THUMBNAILER_SECRET"); s != "" {
		secrets = append(secrets, []byte(s))
	} else {
		log.Warn("THUMBNAILER_SECRET is not set: requests are not authenticated")
	}
	t, err := New(Config{S3: client, Prefix: *prefix, MaxSide: *maxSide, Secrets: secrets, Logger: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, err := t.Handler(ctx)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("thumbnailer listening", zap.String("addr", *listen), zap.String("endpoint", *endpoint))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
