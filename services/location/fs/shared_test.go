package fs

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

// TestSharedRootInProcess: a second New on an open root (here through another
// path to the same directory) shares it. Its start-up must not delete the
// first one's write in progress, both see each other's objects, and the root
// stays open until the last handle closes.
func TestSharedRootInProcess(t *testing.T) {
	root := t.TempDir()
	d1 := newTestDriver(t, Config{Root: root})
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := d1.Put(t.Context(), "slow", pr, location.PutOptions{Size: 6})
		done <- err
	}()
	if _, err := pw.Write([]byte("abc")); err != nil { // the temp file exists now
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	d2, err := New(t.Context(), Config{Root: link})
	if err != nil {
		t.Fatalf("second New in the same process: %v", err)
	}
	if _, err := pw.Write([]byte("def")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("write in progress during the second New: %v", err)
	}
	if got := getString(t, d2, "slow"); got != "abcdef" {
		t.Fatalf("second handle reads %q", got)
	}
	put(t, d2, "from/d2", "x")
	if err := d1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d1.Stat(t.Context(), "from/d2"); !errors.Is(err, location.ErrClosed) {
		t.Fatalf("Stat on a closed handle: %v, want ErrClosed", err)
	}
	if got := getString(t, d2, "from/d2"); got != "x" {
		t.Fatalf("after the first handle closed: %q", got)
	}
	if err := d2.Close(); err != nil {
		t.Fatal(err)
	}
	d3 := newTestDriver(t, Config{Root: root})
	defer d3.Close()
	if got := getString(t, d3, "slow"); got != "abcdef" {
		t.Fatalf("after reopening: %q", got)
	}
}

const lockHelperEnv = "SLUICE_FS_LOCK_HELPER_ROOT"

// TestRootLockedAcrossProcesses: another process cannot open a root this one
// has open.
func TestRootLockedAcrossProcesses(t *testing.T) {
	if root := os.Getenv(lockHelperEnv); root != "" {
		d, err := New(t.Context(), Config{Root: root})
		if err == nil {
			d.Close()
			t.Fatal("opened a root another process holds")
		}
		if !errors.Is(err, ErrRootInUse) {
			t.Fatalf("New = %v, want ErrRootInUse", err)
		}
		return
	}
	root := t.TempDir()
	d := newTestDriver(t, Config{Root: root})
	defer d.Close()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRootLockedAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+root)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
}
