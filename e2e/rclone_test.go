package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/e2e/peers"
)

// rclonePath is the Debian package's rclone.
const rclonePath = "/usr/bin/rclone"

// rclone runs rclone against one Sluice through a remote named "sluice" that exists
// only in the environment (RCLONE_CONFIG_SLUICE_*), with an empty config file.
type rclone struct {
	t   *testing.T
	dir string
	env []string
}

func newRclone(t *testing.T, s *peers.Server) *rclone {
	t.Helper()
	requireProgram(t, rclonePath)
	dir := t.TempDir()
	config := filepath.Join(dir, "rclone.conf")
	writeFile(t, config, "")
	env := cleanEnv([]string{"RCLONE_", "AWS_"},
		"RCLONE_CONFIG="+config,
		"RCLONE_CONFIG_SLUICE_TYPE=s3",
		"RCLONE_CONFIG_SLUICE_PROVIDER=Other",
		"RCLONE_CONFIG_SLUICE_ENDPOINT="+s.Endpoint,
		"RCLONE_CONFIG_SLUICE_ACCESS_KEY_ID="+s.AccessKey,
		"RCLONE_CONFIG_SLUICE_SECRET_ACCESS_KEY="+s.SecretKey,
		"RCLONE_CONFIG_SLUICE_REGION="+s.Region,
		"RCLONE_CONFIG_SLUICE_FORCE_PATH_STYLE=true",
		// Files above 5 MiB go up as multipart uploads of 5 MiB parts.
		"RCLONE_S3_UPLOAD_CUTOFF=5M",
		"RCLONE_S3_CHUNK_SIZE=5M",
		"HOME="+dir,
	)
	return &rclone{t: t, dir: dir, env: env}
}

// run runs rclone with args.
func (r *rclone) run(args ...string) runResult {
	r.t.Helper()
	return runProgram(r.t, 3*time.Minute, r.env, r.dir, rclonePath, args...)
}

// must runs rclone and fails the test when it does not succeed.
func (r *rclone) must(args ...string) string {
	r.t.Helper()
	res := r.run(args...)
	if res.err != nil {
		r.t.Fatalf("rclone %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.err, res.stdout, res.stderr)
	}
	return res.stdout
}

// check runs `rclone check` (with extra flags) and fails the test unless it finds
// 0 differences.
func (r *rclone) check(src, dst string, extra ...string) {
	r.t.Helper()
	res := r.run(append([]string{"check", src, dst}, extra...)...)
	if res.err != nil || !strings.Contains(res.stderr, " 0 differences found") {
		r.t.Fatalf("rclone check %s %s %v: %v\n%s", src, dst, extra, res.err, res.stderr)
	}
}

// lsf returns the sorted file list `rclone lsf -R --files-only` prints.
func (r *rclone) lsf(remote string) []string {
	r.t.Helper()
	out := strings.Split(strings.TrimSpace(r.must("lsf", "-R", "--files-only", remote)), "\n")
	if len(out) == 1 && out[0] == "" {
		out = nil
	}
	slices.Sort(out)
	return out
}

// localFiles returns the sorted slash-separated paths of the files under root.
func localFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// TestRclone copies a local tree into Sluice with rclone, syncs changes, and has rclone
// check both sides: sizes and MD5 hashes (from the ETag, or for multipart uploads the
// hash rclone stores in user metadata), then once more byte by byte.
func TestRclone(t *testing.T) {
	skipShort(t)
	requireProgram(t, rclonePath)
	s := startSluice(t)
	r := newRclone(t, s)
	src := filepath.Join(t.TempDir(), "src")
	const remote = "sluice:rclone-tree"

	// Names that stress SigV4 canonicalization and listing: unicode, spaces, reserved
	// URL characters, deep nesting; an empty file; a multipart-sized file.
	for name, content := range map[string]string{
		"a.txt":                               "alpha\n",
		"empty.txt":                           "",
		"nested/deeper/deepest/b.txt":         "bravo\n",
		"nested/ünïcödé – 名前.txt":             "unicode\n",
		"emoji 🎉/file with spaces.txt":        "spaces\n",
		"reserved/a+b=c&d;e,f@g$h!i'j(k).txt": "reserved\n",
		"reserved/percent%20literal.txt":      "percent\n",
		"reserved/tilde~and_star*.txt":        "tilde\n",
	} {
		writeFile(t, filepath.Join(src, name), content)
	}
	writeRandomFile(t, filepath.Join(src, "big/twelve.bin"), 12<<20, 4)
	writeRandomFile(t, filepath.Join(src, "nested/medium.bin"), 300<<10, 5)

	r.must("copy", src, remote)
	r.check(src, remote)
	if got, want := r.lsf(remote), localFiles(t, src); !slices.Equal(got, want) {
		t.Fatalf("lsf after copy:\n got  %q\n want %q", got, want)
	}

	// Change the tree: rewrite a file, grow another, delete two (one the only file of
	// its directory), add new ones; then sync, which also deletes on the remote.
	writeFile(t, filepath.Join(src, "a.txt"), "alpha, rewritten with a different size\n")
	writeRandomFile(t, filepath.Join(src, "nested/medium.bin"), 400<<10, 6)
	for _, name := range []string{"nested/deeper/deepest/b.txt", "emoji 🎉/file with spaces.txt"} {
		if err := os.Remove(filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(src, "new/c.txt"), "charlie\n")
	writeRandomFile(t, filepath.Join(src, "new/d.bin"), 6<<20, 7)

	r.must("sync", src, remote)
	r.check(src, remote)
	if got, want := r.lsf(remote), localFiles(t, src); !slices.Equal(got, want) {
		t.Fatalf("lsf after sync:\n got  %q\n want %q", got, want)
	}
	r.check(src, remote, "--download")

	// The check is not vacuous: a local change the remote lacks is one difference.
	writeFile(t, filepath.Join(src, "a.txt"), "changed after the sync\n")
	res := r.run("check", src, remote)
	if res.err == nil || !strings.Contains(res.stderr, " 1 differences found") {
		t.Fatalf("rclone check after a local change: err %v, want 1 difference:\n%s", res.err, res.stderr)
	}
}
