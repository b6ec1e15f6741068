package emulators

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/sluice-io/sluice/services/location"
)

// The well-known development account every Azurite serves.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is a running (or stopped) Azurite blob service. Its methods are
// safe for concurrent use; those taking a testing.TB must be called from
// that test's goroutine.
//
// Azurite saves its metadata every few seconds and when stopped: after
// Stop and Restart every write is there, but Kill loses the last seconds
// of writes, so use Stop to take it down in tests that count objects.
type Azurite struct {
	server
	endpoint string
}

// StartAzurite starts Azurite's blob service on 127.0.0.1 with its data in
// a temp directory, waits until it answers and stops it when t ends. It
// skips t (or fails it, see RequireEnv) when Azurite cannot be found or
// started.
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	var cached string
	if home, err := os.UserHomeDir(); err == nil {
		cached = filepath.Join(home, ".cache", "sluice", "azurite", "node_modules", ".bin", "azurite-blob")
	}
	bin, err := findBinary("SLUICE_AZURITE_BIN", "azurite-blob", cached)
	args := func(port int, data string) []string {
		return []string{"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--location", data,
			"--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent"}
	}
	// Any HTTP answer means the service is up: without credentials it
	// answers 403.
	ready := httpReady("/"+AzuriteAccount+"?comp=list", func(status int) bool { return status > 0 })
	s := launch(t, "azurite", bin, err, nil, args, ready)
	return &Azurite{server: s, endpoint: "http://127.0.0.1:" + strconv.Itoa(s.Port()) + "/" + AzuriteAccount}
}

// Endpoint returns the blob service URL, "http://127.0.0.1:<port>/devstoreaccount1".
func (a *Azurite) Endpoint() string { return a.endpoint }

// ConnectionString returns a connection string for the development
// account on this server.
func (a *Azurite) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", AzuriteAccount, AzuriteKey, a.endpoint)
}

// Client returns a blob service client for the development account. It
// keeps no idle connections, so it leaves no goroutines behind.
func (a *Azurite) Client() (*azblob.Client, error) {
	cred, err := azblob.NewSharedKeyCredential(AzuriteAccount, AzuriteKey)
	if err != nil {
		return nil, err
	}
	opts := &azblob.ClientOptions{}
	opts.Transport = plainClient
	return azblob.NewClientWithSharedKeyCredential(a.endpoint+"/", cred, opts)
}

// NewContainer creates a container with a fresh random name and returns
// the name. It fails t if the container cannot be created.
func (a *Azurite) NewContainer(t testing.TB) string {
	t.Helper()
	name := randomName("sluice-")
	c, err := a.Client()
	if err != nil {
		t.Fatalf("azurite: client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateContainer(ctx, name, nil); err != nil {
		t.Fatalf("azurite: create container %s: %v", name, err)
	}
	return name
}

// Config returns the location config of container (under prefix, which may
// be empty) on this server, with account name and key.
func (a *Azurite) Config(container, prefix string) location.Config {
	return location.Config{Type: location.TypeAzure, Azure: &location.AzureConfig{
		Endpoint:    a.endpoint,
		AccountName: AzuriteAccount,
		AccountKey:  location.Secret(AzuriteKey),
		Container:   container,
		Prefix:      prefix,
	}}
}

// String describes the server for test logs.
func (a *Azurite) String() string { return fmt.Sprintf("azurite at %s", a.endpoint) }
