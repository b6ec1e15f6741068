package remote

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

func TestUploadParts(t *testing.T) {
	errStore := errors.New("store failed")
	tests := []struct {
		name      string
		size      int // body bytes
		known     bool
		max       int
		failPart  int // upload of this part fails; 0: none
		wantParts int
		wantErr   error
	}{
		{name: "one part and a bit", size: 5, known: true, max: 10, wantParts: 2},
		{name: "exact parts, unknown size", size: 12, max: 10, wantParts: 3},
		{name: "many parts", size: 37, max: 10, wantParts: 10},
		{name: "too many parts", size: 41, max: 10, wantErr: location.ErrInvalidArgument},
		{name: "upload fails", size: 20, max: 10, failPart: 2, wantErr: errStore},
		{name: "body runs long", size: 20, known: true, max: 10, wantErr: location.ErrSizeMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("0123456789"), 5)[:tc.size]
			opts := location.PutOptions{Size: -1}
			if tc.known {
				opts.Size = int64(tc.size)
				if tc.wantErr == location.ErrSizeMismatch {
					opts.Size = int64(tc.size) - 5
				}
			}
			pool := NewBufferPool(4, 12)
			body := NewBody(bytes.NewReader(data), opts)
			first, err := pool.Get(t.Context(), 4)
			if err != nil {
				t.Fatal(err)
			}
			n, _, err := body.Fill(t.Context(), first)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			got := map[int]string{}
			p := Parts{Pool: pool, Concurrency: 3, Size: 4, Max: tc.max, Unit: "parts"}
			count, err := UploadParts(t.Context(), p, body, first, n, func(_ context.Context, num int, part []byte) error {
				if num == tc.failPart {
					return errStore
				}
				mu.Lock()
				got[num] = string(part)
				mu.Unlock()
				return nil
			})
			if _, ok := pool.TryGet(12); !ok {
				t.Fatal("UploadParts kept buffers of the pool")
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || count != tc.wantParts {
				t.Fatalf("UploadParts = %d, %v; want %d parts", count, err, tc.wantParts)
			}
			var all strings.Builder
			for i := 1; i <= count; i++ {
				all.WriteString(got[i])
			}
			if all.String() != string(data) {
				t.Fatalf("parts hold %q, want %q", all.String(), data)
			}
			if _, err := body.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
		})
	}
}

// cancelling reads as many bytes as asked for, two at a time, and ends
// ctx once it has yielded after bytes.
type cancelling struct {
	n, after int
	cancel   context.CancelFunc
}

func (c *cancelling) Read(p []byte) (int, error) {
	n := min(len(p), 2)
	if c.n += n; c.n >= c.after {
		c.cancel()
	}
	return n, nil
}

func TestUploadPartsCtxEnds(t *testing.T) {
	pool := NewBufferPool(4, 8)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	body := NewBody(&cancelling{after: 6, cancel: cancel}, location.PutOptions{Size: -1})
	first, _ := pool.Get(ctx, 4)
	n, _, _ := body.Fill(ctx, first)
	_, err := UploadParts(ctx, Parts{Pool: pool, Concurrency: 2, Size: 4, Max: 1 << 30, Unit: "parts"}, body, first, n, func(context.Context, int, []byte) error {
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if _, ok := pool.TryGet(8); !ok {
		t.Fatal("UploadParts kept buffers of the pool")
	}
}

func TestBodyCheck(t *testing.T) {
	sum := []byte{0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0, 0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72} // MD5("abc")
	tests := []struct {
		name    string
		opts    location.PutOptions
		wantErr error
	}{
		{"unknown size", location.PutOptions{Size: -1}, nil},
		{"size and MD5", location.PutOptions{Size: 3, ContentMD5: sum}, nil},
		{"short", location.PutOptions{Size: 4}, location.ErrSizeMismatch},
		{"wrong MD5", location.PutOptions{Size: -1, ContentMD5: make([]byte, 16)}, location.ErrBadDigest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBody(strings.NewReader("abc"), tc.opts)
			buf := make([]byte, 8)
			if n, eof, err := b.Fill(t.Context(), buf); n != 3 || !eof || err != nil {
				t.Fatalf("Fill = %d, %v, %v; want 3, true, nil", n, eof, err)
			}
			got, err := b.Check()
			if !errors.Is(err, tc.wantErr) || (err == nil && !bytes.Equal(got, sum)) {
				t.Fatalf("Check = %x, %v; want %x, %v", got, err, sum, tc.wantErr)
			}
		})
	}
}

func TestCheckPutOptions(t *testing.T) {
	tests := []struct {
		name string
		opts location.PutOptions
		ok   bool
	}{
		{"unknown size", location.PutOptions{Size: -1}, true},
		{"empty", location.PutOptions{Size: 0}, true},
		{"with MD5", location.PutOptions{Size: 3, ContentMD5: make([]byte, 16)}, true},
		{"size below -1", location.PutOptions{Size: -2}, false},
		{"short MD5", location.PutOptions{Size: 3, ContentMD5: make([]byte, 15)}, false},
	}
	for _, tc := range tests {
		err := CheckPutOptions(tc.opts)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, location.ErrInvalidArgument)) {
			t.Errorf("%s: CheckPutOptions = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
