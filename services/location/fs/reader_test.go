package fs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

// plainWriter hides every method but Write, so WriteTo cannot hand it the file.
type plainWriter struct{ w io.Writer }

func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

// tcpSink returns the write end of a loopback TCP connection (an
// io.ReaderFrom that uses sendfile) and a function that returns everything
// read from the other end once the write end is closed.
func tcpSink(t *testing.T) (*net.TCPConn, func() []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			got <- nil
			return
		}
		accepted <- c
		b, _ := io.ReadAll(c)
		got <- b
	}()
	w, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	t.Cleanup(func() {
		w.Close()
		if r != nil {
			r.Close()
		}
	})
	return w.(*net.TCPConn), func() []byte {
		w.Close()
		return <-got
	}
}

// TestWriteTo reads objects through WriteTo into writers that take the file
// (TCP with sendfile, a file with copy_file_range, a buffer) and into one
// that does not, whole and by range, in one chunk and in several.
func TestWriteTo(t *testing.T) {
	d := newTestDriver(t, Config{})
	small := bytes.Repeat([]byte("0123456789abcdef"), 4096)             // 64 KiB
	large := bytes.Repeat([]byte("sluice-"), (sendChunk+sendChunk/2)/7) // > one chunk
	for key, data := range map[string][]byte{"small": small, "large": large} {
		if _, err := d.Put(t.Context(), key, bytes.NewReader(data), location.PutOptions{Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		key  string
		rng  *location.Range
		skip int64 // bytes read with Read before WriteTo
		sink string
	}{
		{"tcp whole", "small", nil, 0, "tcp"},
		{"tcp range", "small", &location.Range{Offset: 100, Length: 5000}, 0, "tcp"},
		{"tcp after reads", "small", nil, 777, "tcp"},
		{"tcp several chunks", "large", nil, 0, "tcp"},
		{"tcp range across chunks", "large", &location.Range{Offset: 3, Length: sendChunk + 10}, 1, "tcp"},
		{"file", "small", &location.Range{Offset: 1, Length: 60000}, 0, "file"},
		{"file several chunks", "large", nil, 0, "file"},
		{"buffer", "small", nil, 10, "buffer"},
		{"plain writer", "small", &location.Range{Offset: 10, Length: 20}, 0, "plain"},
		{"plain writer several buffers", "large", nil, 0, "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := small
			if tc.key == "large" {
				data = large
			}
			want := data
			if tc.rng != nil {
				want = data[tc.rng.Offset : tc.rng.Offset+tc.rng.Length]
			}
			rc, _, err := d.Get(t.Context(), tc.key, tc.rng)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			head := make([]byte, tc.skip)
			if _, err := io.ReadFull(rc, head); err != nil {
				t.Fatal(err)
			}
			var (
				n   int64
				got []byte
			)
			wt := rc.(io.WriterTo)
			switch tc.sink {
			case "tcp":
				w, read := tcpSink(t)
				n, err = wt.WriteTo(w)
				got = read()
			case "file":
				f, ferr := os.Create(filepath.Join(t.TempDir(), "out"))
				if ferr != nil {
					t.Fatal(ferr)
				}
				n, err = wt.WriteTo(f)
				f.Close()
				got, _ = os.ReadFile(f.Name())
			case "buffer":
				var b bytes.Buffer
				n, err = wt.WriteTo(&b)
				got = b.Bytes()
			case "plain":
				var b bytes.Buffer
				n, err = wt.WriteTo(plainWriter{&b})
				got = b.Bytes()
			}
			if err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			got = append(head, got...)
			if n != int64(len(want))-tc.skip || !bytes.Equal(got, want) {
				t.Fatalf("WriteTo wrote %d bytes (%d in all), want %d", n, len(got), len(want))
			}
			// The reader is at the end now.
			if m, err := rc.Read(make([]byte, 1)); m != 0 || err != io.EOF {
				t.Fatalf("Read after WriteTo = %d, %v; want 0, EOF", m, err)
			}
		})
	}
}

func TestWriteToCancelled(t *testing.T) {
	d := newTestDriver(t, Config{})
	put(t, d, "k", "some data")
	for _, sink := range []string{"tcp", "plain"} {
		ctx, cancel := context.WithCancel(t.Context())
		rc, _, err := d.Get(ctx, "k", nil)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		var w io.Writer = plainWriter{io.Discard}
		if sink == "tcp" {
			w, _ = tcpSink(t)
		}
		n, err := rc.(io.WriterTo).WriteTo(w)
		if n != 0 || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: WriteTo after cancel = %d, %v; want 0, context.Canceled", sink, n, err)
		}
		rc.Close()
	}
}
