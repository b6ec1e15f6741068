package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluice-io/sluice/services/emulators"
	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote/remotetest"
	"github.com/sluice-io/sluice/services/location/locationtest"
)

func rawClient(t *testing.T, a *emulators.Azurite) *azblob.Client {
	t.Helper()
	c, err := a.Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawNames lists the committed blob names in container, bypassing the
// driver.
func rawNames(t *testing.T, c *azblob.Client, container string) []string {
	t.Helper()
	var names []string
	p := c.NewListBlobsFlatPager(container, nil)
	for p.More() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("raw list: %v", err)
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	return names
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(location.Types(), Type) {
		t.Fatalf("location.Types() = %q, want it to hold %q", location.Types(), Type)
	}
	a := emulators.StartAzurite(t)
	container := a.NewContainer(t)
	byKey := a.Config(container, "reg/")
	byKey.Options = map[string]string{OptionBlockSize: "1MiB", OptionConcurrency: "3", OptionMemoryLimit: "4MiB"}
	byConn := location.Config{Type: Type, Azure: &location.AzureConfig{
		ConnectionString: location.Secret(a.ConnectionString()), Container: container, Prefix: "conn/",
	}}
	for name, cfg := range map[string]location.Config{"key": byKey, "connection string": byConn} {
		t.Run(name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			d, err := location.Open(t.Context(), "replica", cfg, zap.New(core))
			if err != nil {
				t.Fatalf("location.Open: %v", err)
			}
			defer d.Close()
			data := remotetest.RandomBytes(1, 3<<20+1)
			if _, err := d.Put(t.Context(), "k", bytes.NewReader(data), location.PutOptions{Size: int64(len(data))}); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got, _ := remotetest.GetAll(t, d, "k"); !bytes.Equal(got, data) {
				t.Fatal("data differs")
			}
			if len(logs.FilterMessage("azure location opened").All()) != 1 {
				t.Fatalf("logs = %v, want one start-up log", logs.All())
			}
			for _, e := range logs.All() {
				for _, f := range e.Context {
					if s := fmt.Sprint(f.Interface, f.String); strings.Contains(s, emulators.AzuriteKey) || strings.Contains(s, "AccountKey=") {
						t.Fatalf("log %q leaks a secret in field %s", e.Message, f.Key)
					}
				}
			}
		})
	}
	names := rawNames(t, rawClient(t, a), container)
	if want := []string{"conn/k", "reg/k"}; !slices.Equal(names, want) {
		t.Fatalf("container holds %q, want %q", names, want)
	}
}

func TestConfigInvalid(t *testing.T) {
	good := location.AzureConfig{AccountName: "acct", AccountKey: location.Secret(emulators.AzuriteKey), Container: "c", Endpoint: "http://127.0.0.1:1/acct"}
	with := func(f func(*location.AzureConfig)) *location.AzureConfig {
		c := good
		f(&c)
		return &c
	}
	tests := []struct {
		name string
		cfg  location.Config
	}{
		{"no azure settings", location.Config{Type: Type}},
		{"no container", location.Config{Type: Type, Azure: with(func(c *location.AzureConfig) { c.Container = "" })}},
		{"no credentials", location.Config{Type: Type, Azure: with(func(c *location.AzureConfig) { c.AccountKey = "" })}},
		{"key not base64", location.Config{Type: Type, Azure: with(func(c *location.AzureConfig) { c.AccountKey = "not base64!" })}},
		{"connection string and key", location.Config{Type: Type, Azure: with(func(c *location.AzureConfig) { c.ConnectionString = "AccountName=a" })}},
		{"bad connection string", location.Config{Type: Type, Azure: &location.AzureConfig{ConnectionString: "garbage", Container: "c"}}},
		{"endpoint without scheme", location.Config{Type: Type, Azure: with(func(c *location.AzureConfig) { c.Endpoint = "127.0.0.1:10000" })}},
		{"prefix with dot segment", location.Config{Type: Type, Azure: with(func(c *location.AzureConfig) { c.Prefix = "a/../" })}},
		{"unknown option", location.Config{Type: Type, Azure: &good, Options: map[string]string{"blocksize": "1MiB"}}},
		{"block size too small", location.Config{Type: Type, Azure: &good, Options: map[string]string{OptionBlockSize: "1KiB"}}},
		{"concurrency malformed", location.Config{Type: Type, Azure: &good, Options: map[string]string{OptionConcurrency: "two"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := location.Open(t.Context(), "bad", tc.cfg, nil)
			if err == nil {
				d.Close()
			}
			if !errors.Is(err, location.ErrInvalidConfig) {
				t.Fatalf("Open error = %v, want ErrInvalidConfig", err)
			}
			if err != nil && strings.Contains(err.Error(), emulators.AzuriteKey) {
				t.Fatalf("error %q quotes the key", err)
			}
		})
	}
	t.Run("good config sends nothing", func(t *testing.T) {
		d, err := location.Open(t.Context(), "good", location.Config{Type: Type, Azure: &good}, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		d.Close()
	})
}

func TestOddKeys(t *testing.T) {
	a := emulators.StartAzurite(t)
	d := newTestDriver(t, azuriteConfig(a, a.NewContainer(t), ""))
	// Keys URLs would fold, and keys that are not UTF-8 without control
	// characters, fail cleanly; every other key is stored as itself.
	refused := func(k string) bool {
		return !utf8.ValidString(k) || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
			k[0] == '/' || strings.Contains(k, "//") || strings.Contains(k, `\`) ||
			slices.ContainsFunc(strings.Split(k, "/"), func(s string) bool { return strings.HasSuffix(s, ".") })
	}
	var stored []string
	for _, k := range locationtest.OddKeys() {
		data := []byte("odd: " + k.Key)
		_, err := d.Put(t.Context(), k.Key, bytes.NewReader(data), location.PutOptions{Size: int64(len(data))})
		switch {
		case refused(k.Key):
			if !errors.Is(err, location.ErrInvalidKey) {
				t.Errorf("Put(%s key %q): error = %v, want ErrInvalidKey", k.Name, k.Key, err)
			}
		case err != nil:
			t.Errorf("Put(%s key %q): %v", k.Name, k.Key, err)
		default:
			stored = append(stored, k.Key)
		}
	}
	for _, k := range stored {
		if got, info := remotetest.GetAll(t, d, k); string(got) != "odd: "+k || info.Key != k || info.ETag != remotetest.MD5Hex(got) {
			t.Errorf("Get(%q) = %q, %+v", k, got, info)
		}
	}
	infos, err := d.List(t.Context(), "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, info := range infos {
		listed = append(listed, info.Key)
	}
	if want := slices.Sorted(slices.Values(stored)); !slices.Equal(listed, want) {
		t.Errorf("List\n got %q\nwant %q", listed, want)
	}
}

func TestBlocks(t *testing.T) {
	a := emulators.StartAzurite(t)
	raw := rawClient(t, a)
	const block = MinBlockSize
	tests := []struct {
		name     string
		size     int
		known    bool
		withMD5  bool
		wrongMD5 bool
		failAt   int // reader fails after this many bytes; -1 body one byte short
		longBody bool
		wantErr  error
		blocks   int // committed blocks; 0 for a blob sent with one Put Blob
	}{
		{name: "one block exactly, known size", size: block, known: true},
		{name: "one block exactly, unknown size", size: block, blocks: 1},
		{name: "known size", size: 3*block + 7, known: true, blocks: 4},
		{name: "known size with MD5", size: 3*block + 7, known: true, withMD5: true, blocks: 4},
		{name: "unknown size", size: 3*block + 3, blocks: 4},
		{name: "unknown size ending at a block boundary", size: 3 * block, blocks: 3},
		{name: "wrong MD5", size: 2*block + 7, known: true, withMD5: true, wrongMD5: true, wantErr: location.ErrBadDigest},
		{name: "reader fails in the third block", size: 3 * block, known: true, failAt: 2*block + 100, wantErr: remotetest.ErrBoom},
		{name: "reader fails in the third block, unknown size", size: 3 * block, failAt: 2*block + 100, wantErr: remotetest.ErrBoom},
		{name: "body longer than declared", size: 2*block + 7, known: true, longBody: true, wantErr: location.ErrSizeMismatch},
		{name: "body shorter than declared", size: 2*block + 7, known: true, failAt: -1, wantErr: location.ErrSizeMismatch},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			container := a.NewContainer(t)
			cfg := azuriteConfig(a, container, "blk/")
			cfg.BlockSize, cfg.Concurrency = block, 3
			d := newTestDriver(t, cfg)
			data := remotetest.RandomBytes(uint64(i), tc.size)
			opts := location.PutOptions{Size: -1, ContentType: "application/x-test", Metadata: map[string]string{"kind": "blocks", "Note": "Zürich"}}
			if tc.known {
				opts.Size = int64(tc.size)
			}
			if tc.withMD5 {
				sum := md5.Sum(data)
				if tc.wrongMD5 {
					sum[0]++
				}
				opts.ContentMD5 = sum[:]
			}
			var r io.Reader = remotetest.OnlyReader(bytes.NewReader(data))
			switch {
			case tc.failAt > 0:
				r = remotetest.FailAfter(data, tc.failAt)
			case tc.failAt < 0:
				r = remotetest.OnlyReader(bytes.NewReader(data[:len(data)-1]))
			case tc.longBody:
				r = remotetest.OnlyReader(io.MultiReader(bytes.NewReader(data), strings.NewReader("extra")))
			}
			info, err := d.Put(t.Context(), "obj", r, opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Put error = %v, want %v", err, tc.wantErr)
				}
				if _, err := d.Stat(t.Context(), "obj"); !errors.Is(err, location.ErrNotFound) {
					t.Fatalf("Stat after a failed Put: %v, want ErrNotFound", err)
				}
				if list, err := d.List(t.Context(), "", "", 0); err != nil || len(list) != 0 {
					t.Fatalf("List after a failed Put = %v, %v; want nothing", list, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			want := remotetest.MD5Hex(data)
			wantMeta := map[string]string{"kind": "blocks", "Note": "Zürich"}
			if info.ETag != want || info.Size != int64(tc.size) {
				t.Fatalf("Put = %+v, want ETag %s size %d", info, want, tc.size)
			}
			got, gi := remotetest.GetAll(t, d, "obj")
			if !bytes.Equal(got, data) {
				t.Fatalf("Get returned %d bytes (md5 %s), want %d (md5 %s)", len(got), remotetest.MD5Hex(got), len(data), want)
			}
			st, err := d.Stat(t.Context(), "obj")
			if err != nil {
				t.Fatal(err)
			}
			for op, oi := range map[string]location.ObjectInfo{"Get": gi, "Stat": st} {
				if oi.ETag != want || oi.ContentType != "application/x-test" || !maps.Equal(oi.Metadata, wantMeta) {
					t.Errorf("%s = %+v, want ETag %s, the content type and metadata %v", op, oi, want, wantMeta)
				}
			}
			list, err := d.List(t.Context(), "", "", 0)
			if err != nil || len(list) != 1 || list[0].ETag != want || list[0].Size != int64(tc.size) {
				t.Fatalf("List = %+v, %v; want the object with ETag %s", list, err, want)
			}
			bl, err := raw.ServiceClient().NewContainerClient(container).NewBlockBlobClient("blk/obj").GetBlockList(t.Context(), blockblob.BlockListTypeCommitted, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(bl.CommittedBlocks); n != tc.blocks {
				t.Errorf("blob has %d committed blocks, want %d", n, tc.blocks)
			}
		})
	}
}

func TestConcurrentBlockPutsToOneKey(t *testing.T) {
	a := emulators.StartAzurite(t)
	cfg := azuriteConfig(a, a.NewContainer(t), "")
	cfg.BlockSize = MinBlockSize
	d := newTestDriver(t, cfg)
	versions := make([][]byte, 4)
	valid := map[string]bool{}
	for i := range versions {
		versions[i] = remotetest.RandomBytes(uint64(50+i), 3*MinBlockSize+i*1031)
		valid[remotetest.MD5Hex(versions[i])] = true
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	succeeded := 0
	for i := range versions {
		wg.Go(func() {
			info, err := d.Put(t.Context(), "contended", remotetest.OnlyReader(bytes.NewReader(versions[i])), location.PutOptions{Size: -1})
			if err != nil {
				// A Put whose blocks a concurrent commit discarded fails;
				// it must say so rather than store a mix.
				if !errors.Is(err, ErrBlocksDiscarded) {
					t.Errorf("Put %d: %v, want ErrBlocksDiscarded", i, err)
				}
				return
			}
			if info.ETag != remotetest.MD5Hex(versions[i]) {
				t.Errorf("Put %d returned ETag %s", i, info.ETag)
			}
			mu.Lock()
			succeeded++
			mu.Unlock()
		})
	}
	wg.Wait()
	if succeeded == 0 {
		t.Fatal("every concurrent Put failed")
	}
	got, info := remotetest.GetAll(t, d, "contended")
	if sum := remotetest.MD5Hex(got); !valid[sum] || info.ETag != sum {
		t.Fatalf("after concurrent Puts: md5 %s, ETag %s: not one complete version", sum, info.ETag)
	}
}

func TestPrefixes(t *testing.T) {
	a := emulators.StartAzurite(t)
	container := a.NewContainer(t)
	root := newTestDriver(t, azuriteConfig(a, container, ""))
	one := newTestDriver(t, azuriteConfig(a, container, "one/"))
	two := newTestDriver(t, azuriteConfig(a, container, "two/"))
	for d, keys := range map[location.Driver][]string{root: {"top", "one-sibling", "one"}, one: {"a", "b/c"}, two: {"a", "z"}} {
		for _, k := range keys {
			if _, err := d.Put(t.Context(), k, strings.NewReader(k), location.PutOptions{Size: int64(len(k))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		d      location.Driver
		prefix string
		after  string
		want   []string
	}{
		{"root sees all", root, "", "", []string{"one", "one-sibling", "one/a", "one/b/c", "top", "two/a", "two/z"}},
		{"root by prefix", root, "one", "", []string{"one", "one-sibling", "one/a", "one/b/c"}},
		{"root after", root, "", "one/a", []string{"one/b/c", "top", "two/a", "two/z"}},
		{"one sees its own", one, "", "", []string{"a", "b/c"}},
		{"one by prefix", one, "b", "", []string{"b/c"}},
		{"one after", one, "", "a", []string{"b/c"}},
		{"two sees its own", two, "", "", []string{"a", "z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			infos, err := tc.d.List(t.Context(), tc.prefix, tc.after, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, i := range infos {
				got = append(got, i.Key)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("List(%q, %q) = %q, want %q", tc.prefix, tc.after, got, tc.want)
			}
		})
	}
	if err := one.Delete(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Stat(t.Context(), "a"); err != nil {
		t.Fatalf("deleting one/a touched two/a: %v", err)
	}
	if got, _ := remotetest.GetAll(t, root, "one/b/c"); string(got) != "b/c" {
		t.Fatalf("root reads one/b/c as %q", got)
	}
	if _, err := one.Put(t.Context(), strings.Repeat("k", location.MaxKeyLen-3), strings.NewReader("x"), location.PutOptions{Size: 1}); !errors.Is(err, location.ErrInvalidKey) {
		t.Fatalf("Put of a key too long with the prefix: %v, want ErrInvalidKey", err)
	}
}

func TestMetadataKeys(t *testing.T) {
	a := emulators.StartAzurite(t)
	container := a.NewContainer(t)
	d := newTestDriver(t, azuriteConfig(a, container, ""))
	meta := map[string]string{
		"color": "blue", "owner-id": "42", "Upper": "U", "upper": "u", "x_fake": "1", "_": "2", "1abc": "3",
		"日本": "4", "a.b": "5", "x": "6", "class": "7", "sp ace": " spaced ", "empty": "",
		"word": "=?UTF-8?B?aGk=?=", "unicode": "Zürich ☕",
	}
	if _, err := d.Put(t.Context(), "k", strings.NewReader("x"), location.PutOptions{Size: 1, Metadata: meta}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	st, err := d.Stat(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(st.Metadata, meta) {
		t.Fatalf("Stat metadata\n got %q\nwant %q", st.Metadata, meta)
	}
	// What Azure holds: identifiers, plain keys as they are.
	props, err := rawClient(t, a).ServiceClient().NewContainerClient(container).NewBlobClient("k").GetProperties(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for k, v := range props.Metadata {
		names[strings.ToLower(k)] = *v
		if !isIdentifier(k) {
			t.Errorf("stored metadata name %q is not a C# identifier", k)
		}
	}
	for k, v := range map[string]string{"color": "blue", "x_owner_2did": "42", "x_x_5ffake": "1"} {
		if names[k] != v {
			t.Errorf("stored %s = %q, want %q (all: %q)", k, names[k], v, names)
		}
	}
	if _, err := d.Put(t.Context(), "k2", strings.NewReader("x"), location.PutOptions{Size: 1, Metadata: map[string]string{"": "x"}}); !errors.Is(err, location.ErrInvalidArgument) {
		t.Fatalf("Put with an empty metadata key: %v, want ErrInvalidArgument", err)
	}
}

// isIdentifier reports whether s is a C# identifier of ASCII letters,
// digits and underscores.
func isIdentifier(s string) bool {
	if s == "" || ('0' <= s[0] && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func TestStoreDown(t *testing.T) {
	a := emulators.StartAzurite(t)
	cfg := azuriteConfig(a, a.NewContainer(t), "")
	d := newTestDriver(t, cfg)
	if _, err := d.Put(t.Context(), "before", strings.NewReader("x"), location.PutOptions{Size: 1}); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := d.Stat(ctx, "before"); err == nil || errors.Is(err, location.ErrNotFound) {
		t.Fatalf("Stat with the service down: %v, want a transport error", err)
	}
	a.Restart(t)
	if _, err := d.Put(t.Context(), "after", strings.NewReader("x"), location.PutOptions{Size: 1}); err != nil {
		t.Fatalf("Put after the service came back: %v", err)
	}
	if _, err := d.Stat(t.Context(), "before"); err != nil {
		t.Fatalf("Stat after the service came back: %v", err)
	}
}

func TestMissingContainer(t *testing.T) {
	a := emulators.StartAzurite(t)
	d := newTestDriver(t, azuriteConfig(a, "no-such-container", ""))
	if _, err := d.Put(t.Context(), "k", strings.NewReader("x"), location.PutOptions{Size: 1}); err == nil {
		t.Fatal("Put into a missing container succeeded")
	}
	if _, err := d.Stat(t.Context(), "k"); err == nil || errors.Is(err, location.ErrNotFound) {
		t.Fatalf("Stat in a missing container: %v, want an error other than ErrNotFound", err)
	}
}
