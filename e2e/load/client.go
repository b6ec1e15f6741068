package load

import (
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// newTransport returns an HTTP transport that keeps enough idle connections for every
// worker, so a run reuses connections instead of measuring TCP handshakes. It ignores
// proxy environment variables: the tool measures the endpoint, not a proxy.
func newTransport(concurrency int) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          0, // no global limit
		MaxIdleConnsPerHost:   max(2*concurrency, 256),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		ResponseHeaderTimeout: 0, // bounded per operation by Config.OpTimeout
		DisableCompression:    true,
	}
}

// NewClient returns an S3 client configured exactly as Run configures its own: path-style
// addressing, static credentials, cfg.Region, no retries (a failed request is an error,
// not a hidden second attempt), the checksum mode of cfg.Checksum and an HTTP transport
// sized for cfg.Concurrency. Call close when done to release idle connections. cfg should
// have gone through WithDefaults; NewClient does not validate it and does no I/O.
func NewClient(cfg Config) (client *s3.Client, close func()) {
	tr := newTransport(cfg.Concurrency)
	reqSum, respSum := aws.RequestChecksumCalculationWhenSupported, aws.ResponseChecksumValidationWhenSupported
	if cfg.Checksum == ChecksumRequired {
		reqSum, respSum = aws.RequestChecksumCalculationWhenRequired, aws.ResponseChecksumValidationWhenRequired
	}
	client = s3.New(s3.Options{
		BaseEndpoint:               aws.String(cfg.Endpoint),
		UsePathStyle:               true,
		Region:                     cfg.Region,
		Credentials:                credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: reqSum,
		ResponseChecksumValidation: respSum,
		HTTPClient:                 &http.Client{Transport: tr},
	})
	return client, tr.CloseIdleConnections
}
