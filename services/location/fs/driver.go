package fs

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	iofs "io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/location"
)

// Type is the location.Config.Type this driver registers under.
const Type = location.TypeFS

// DefaultBufferSize is the copy buffer used when Config.BufferSize is 0.
const DefaultBufferSize = 1 << 20

// Names the driver keeps for itself at the top of the root. The key mapping
// never produces a name starting with '.', so they cannot collide with
// objects.
const (
	tmpDir     = ".tmp"       // temp files of writes in progress, emptied by New
	lockName   = ".lock"      // flock(2)ed while the root is open
	layoutName = ".sluice-fs" // JSON marker: layout version and case folding
	layoutV1   = 1
	maxRetries = 16 // renames retried when a concurrent Delete prunes the parent
	// tmpShards is how many subdirectories of tmpDir spread the temp files.
	// Creating a file and renaming it away lock its directory in the kernel:
	// with one shared temp directory, concurrent writes queued on its lock.
	// Measured on ext4 (2 cores, 64 writers of 1 KiB files with fsync): one
	// directory 2,100-3,500 files/s at 420-730 us of CPU each; 64 shards
	// 5,100-6,100 files/s at 230-270 us.
	tmpShards = 64
)

// newTempPath returns a fresh temp file path in a random shard.
func newTempPath() string { return filepath.Join(tmpShard(mrand.IntN(tmpShards)), rand.Text()) }

// tmpShard returns the name of temp shard i, below tmpDir.
func tmpShard(i int) string { return filepath.Join(tmpDir, fmt.Sprintf("%02x", i)) }

// ErrRootInUse means another process has the root open. New returns it
// wrapped. (Drivers of one process share an open root.)
var ErrRootInUse = errors.New("fs: root directory in use by another driver")

func init() {
	// Register fails only if another package registered "fs" too; the
	// package tests check that this driver is the one Open finds.
	_ = location.Register(Type, func(ctx context.Context, _ string, cfg location.Config, logger *zap.Logger) (location.Driver, error) {
		return New(ctx, Config{Root: cfg.Path, Logger: logger})
	})
}

// Config configures New.
type Config struct {
	// Root is the directory that holds the location; it is created if
	// missing. It must be empty or a root this driver created.
	Root string
	// Logger receives start-up and shutdown logs; nil discards them.
	Logger *zap.Logger
	// Now is the clock that stamps ModTime; nil means time.Now.
	Now func() time.Time
	// BufferSize is the size of the buffer each Put, Compose or copy
	// streams through; 0 means DefaultBufferSize.
	BufferSize int
	// SyncConcurrency bounds how many writes at once create their temp file,
	// or rename it into place and sync the directory; 0 means
	// DefaultSyncConcurrency. Streaming and syncing the data are not
	// bounded. Creates and renames contend for the kernel's directory locks:
	// measured on ext4 (2 cores, one temp directory), 400 concurrent writers
	// cost up to 4 times the CPU per file of 4 writers.
	SyncConcurrency int
}

// DefaultSyncConcurrency is Config.SyncConcurrency when it is 0.
const DefaultSyncConcurrency = 8

// driver implements location.Driver and location.Composer on a local
// directory. See the package documentation for the layout.
type driver struct {
	root    *os.Root
	dir     string
	m       mapper
	log     *zap.Logger
	now     func() time.Time
	lock    *os.File
	bufs    sync.Pool
	syncs   chan struct{} // bounds file creates and commits (Config.SyncConcurrency)
	closed  atomic.Bool
	closeMu sync.Mutex
}

var (
	_ location.Driver   = (*driver)(nil)
	_ location.Composer = (*driver)(nil)
)

// New opens (creating if needed) the fs location rooted at cfg.Root. The
// first New of a process on a root takes an exclusive lock on it, so at most
// one process uses a root at a time, and deletes the temp files of writes a
// previous process left unfinished; later ones in the same process share
// that open root (with the first one's Config) until the last is closed. The returned driver also implements location.Composer.
//
// It returns errors wrapping location.ErrInvalidConfig (no root, or a
// non-empty directory that is not an fs location), ErrRootInUse, or the
// filesystem's error.
func New(ctx context.Context, cfg Config) (location.Driver, error) {
	if cfg.Root == "" {
		return nil, fmt.Errorf("%w: fs root is empty", location.ErrInvalidConfig)
	}
	dir, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("fs: root %q: %w", cfg.Root, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("fs: create root: %w", err)
	}
	return openShared(dir, func() (*driver, error) { return open(ctx, cfg, dir) })
}

// open opens and locks the root dir for the first driver of this process.
func open(ctx context.Context, cfg Config, dir string) (*driver, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("fs: open root: %w", err)
	}
	d := &driver{root: root, dir: dir, log: cfg.Logger, now: cfg.Now}
	if d.log == nil {
		d.log = zap.NewNop()
	}
	if d.now == nil {
		d.now = time.Now
	}
	size := cfg.BufferSize
	if size <= 0 {
		size = DefaultBufferSize
	}
	d.bufs.New = func() any { b := make([]byte, size); return &b }
	n := cfg.SyncConcurrency
	if n <= 0 {
		n = DefaultSyncConcurrency
	}
	d.syncs = make(chan struct{}, n)

	if err := d.start(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("fs: open %s: %w", dir, err), d.closeFiles())
	}
	return d, nil
}

// start checks the root is empty or an fs location, locks it, empties the
// temp directory and, for a fresh root, writes the layout marker. It
// creates nothing in a directory it refuses.
func (d *driver) start(ctx context.Context) error {
	fresh, err := d.readLayout()
	if err != nil {
		return err
	}
	lock, err := d.root.OpenFile(lockName, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return err
	}
	d.lock = lock
	if err := ctx.Err(); err != nil {
		return err
	}
	removed, err := d.resetTemp()
	if err != nil {
		return err
	}
	if fresh {
		if err := d.writeLayout(); err != nil {
			return err
		}
	}
	d.log.Info("fs location opened", zap.String("root", d.dir), zap.Bool("foldCase", d.m.foldCase),
		zap.Int("tempFilesRemoved", removed))
	return nil
}

// resetTemp deletes the temp directory with whatever unfinished writes left
// there and recreates it, with its shards, empty. It returns how many files it
// removed.
func (d *driver) resetTemp() (int, error) {
	removed := 0
	names, err := d.readNames(tmpDir)
	if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return 0, err
	}
	for _, n := range names {
		sub, err := d.readNames(filepath.Join(tmpDir, n))
		if err != nil { // a file: temp files of older versions lived here
			removed++
			continue
		}
		removed += len(sub)
	}
	if err := d.root.RemoveAll(tmpDir); err != nil {
		return 0, err
	}
	if err := d.root.Mkdir(tmpDir, 0o750); err != nil {
		return 0, err
	}
	for i := range tmpShards {
		if err := d.root.Mkdir(tmpShard(i), 0o750); err != nil {
			return 0, err
		}
	}
	if err := d.syncDir(tmpDir); err != nil {
		return 0, err
	}
	return removed, d.syncDir(".")
}

type layoutFile struct {
	Layout   int  `json:"layout"`
	FoldCase bool `json:"foldCase"`
}

// readLayout reads the layout marker into d.m. Without one, it reports a
// fresh root if the directory holds nothing but the driver's own names,
// and an error wrapping location.ErrInvalidConfig otherwise.
func (d *driver) readLayout() (fresh bool, err error) {
	data, err := d.root.ReadFile(layoutName)
	if err == nil {
		var l layoutFile
		if err := json.Unmarshal(data, &l); err != nil || l.Layout != layoutV1 {
			return false, fmt.Errorf("%w: unsupported layout marker %s: %q", location.ErrInvalidConfig, layoutName, data)
		}
		d.m = mapper{foldCase: l.FoldCase}
		return false, nil
	}
	if !errors.Is(err, iofs.ErrNotExist) {
		return false, err
	}
	names, err := d.readNames(".")
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n != lockName && n != tmpDir {
			return false, fmt.Errorf("%w: directory holds %q but no %s marker: not an fs location", location.ErrInvalidConfig, n, layoutName)
		}
	}
	return true, nil
}

// writeLayout probes whether the filesystem folds case and records the
// mapping to use in the layout marker, atomically.
func (d *driver) writeLayout() error {
	fold, err := d.foldsCase()
	if err != nil {
		return err
	}
	d.m = mapper{foldCase: fold}
	data, err := json.Marshal(layoutFile{Layout: layoutV1, FoldCase: fold})
	if err != nil {
		return err
	}
	tmp := filepath.Join(tmpDir, layoutName)
	if err := d.root.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	if err := d.syncFile(tmp); err != nil {
		return err
	}
	if err := d.root.Rename(tmp, layoutName); err != nil {
		return err
	}
	return d.syncDir(".")
}

// foldsCase reports whether the root's filesystem treats names that differ
// only in case as the same file (as macOS and Windows do by default).
func (d *driver) foldsCase() (bool, error) {
	upper, lower := filepath.Join(tmpDir, "CASE-PROBE"), filepath.Join(tmpDir, "case-probe")
	f, err := d.root.OpenFile(upper, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return false, err
	}
	f.Close()
	defer d.root.Remove(upper)
	_, err = d.root.Lstat(lower)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, iofs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// prepare maps key to its path, after checking the driver is open.
func (d *driver) prepare(key string) ([]string, string, error) {
	if d.closed.Load() {
		return nil, "", location.ErrClosed
	}
	comps, err := d.m.components(key)
	if err != nil {
		return nil, "", err
	}
	p, err := join(comps)
	if err != nil {
		return nil, "", err
	}
	return comps, p, nil
}

// Put implements location.Driver.
func (d *driver) Put(ctx context.Context, key string, r io.Reader, opts location.PutOptions) (location.ObjectInfo, error) {
	info, err := d.put(ctx, key, r, opts)
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("fs: put %q: %w", key, err)
	}
	return info, nil
}

func (d *driver) put(ctx context.Context, key string, r io.Reader, opts location.PutOptions) (location.ObjectInfo, error) {
	comps, _, err := d.prepare(key)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	if opts.Size < -1 {
		return location.ObjectInfo{}, fmt.Errorf("%w: size %d", location.ErrInvalidArgument, opts.Size)
	}
	if n := len(opts.ContentMD5); n != 0 && n != md5.Size {
		return location.ObjectInfo{}, fmt.Errorf("%w: content MD5 of %d bytes", location.ErrInvalidArgument, n)
	}
	rec := &record{key: key, contentType: opts.ContentType, metadata: opts.Metadata}
	src := r
	if opts.Size >= 0 {
		src = io.LimitReader(r, opts.Size+1) // one more byte reveals a long body
	}
	return d.write(ctx, comps, rec, opts.Size, opts.ContentMD5, func(w io.Writer) error {
		return d.streamTo(ctx, w, src)
	})
}

// write streams an object into a temp file with fill, appends its record,
// syncs it and renames it to comps. If anything fails, including a size or
// MD5 mismatch or ctx ending, it removes the temp file and the previous
// object stays as it was.
func (d *driver) write(ctx context.Context, comps []string, rec *record, wantSize int64, wantMD5 []byte, fill func(io.Writer) error) (location.ObjectInfo, error) {
	if rec.trailerLen()-footerLen+2*md5.Size > maxRecordLen { // the ETag is not known yet
		return location.ObjectInfo{}, fmt.Errorf("%w: metadata exceeds %d bytes", location.ErrInvalidArgument, maxRecordLen)
	}
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, err
	}
	tmp := newTempPath()
	if err := d.acquireSync(ctx); err != nil {
		return location.ObjectInfo{}, err
	}
	f, err := d.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	d.releaseSync()
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("create temp file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close() // may already be closed
			d.root.Remove(tmp)
		}
	}()

	w := &hashWriter{w: f, h: md5.New()}
	if err := fill(w); err != nil {
		return location.ObjectInfo{}, err
	}
	if wantSize >= 0 && w.n != wantSize {
		return location.ObjectInfo{}, fmt.Errorf("%w: read %d bytes (or more), want %d", location.ErrSizeMismatch, w.n, wantSize)
	}
	sum := w.h.Sum(nil)
	if wantMD5 != nil && !bytes.Equal(sum, wantMD5) {
		return location.ObjectInfo{}, fmt.Errorf("%w: data MD5 is %x, want %x", location.ErrBadDigest, sum, wantMD5)
	}
	rec.size, rec.etag, rec.modTime = w.n, hex.EncodeToString(sum), d.now().UnixNano()
	if _, err := f.Write(rec.appendTrailer(nil)); err != nil {
		return location.ObjectInfo{}, fmt.Errorf("write record: %w", err)
	}
	if err := f.Sync(); err != nil {
		return location.ObjectInfo{}, fmt.Errorf("sync temp file: %w", err)
	}
	if err := f.Close(); err != nil {
		return location.ObjectInfo{}, fmt.Errorf("close temp file: %w", err)
	}
	if err := d.acquireSync(ctx); err != nil {
		return location.ObjectInfo{}, err
	}
	defer d.releaseSync()
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, err
	}
	if err := d.commit(tmp, comps); err != nil {
		return location.ObjectInfo{}, err
	}
	committed = true
	return rec.info(), nil
}

// acquireSync takes one of the Config.SyncConcurrency slots, or returns
// ctx's error if it ends first. releaseSync gives the slot back.
func (d *driver) acquireSync(ctx context.Context) error {
	select {
	case d.syncs <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *driver) releaseSync() { <-d.syncs }

// hashWriter writes to w and hashes and counts what was written.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

// streamTo streams src to w through a pooled buffer until EOF, filling the
// buffer before each write and checking ctx before each read.
func (d *driver) streamTo(ctx context.Context, w io.Writer, src io.Reader) error {
	bp := d.bufs.Get().(*[]byte)
	defer d.bufs.Put(bp)
	buf := *bp
	for {
		n, empty := 0, 0
		var rerr error
		for n < len(buf) && rerr == nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			var m int
			m, rerr = src.Read(buf[n:])
			n += m
			if m == 0 && rerr == nil {
				if empty++; empty > 100 {
					rerr = io.ErrNoProgress
				}
			}
		}
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("write data: %w", err)
			}
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return fmt.Errorf("read data: %w", rerr)
		}
	}
}

// commit renames the finished temp file to the object path comps, creating
// the parent directories as needed, and syncs the parent directory.
func (d *driver) commit(tmp string, comps []string) error {
	final, err := join(comps)
	if err != nil {
		return err
	}
	parent := comps[:len(comps)-1]
	for attempt := 0; ; attempt++ {
		err := d.root.Rename(tmp, final)
		if err == nil {
			break
		}
		// A missing parent: create it. A concurrent Delete may prune it
		// again before the rename, hence the loop.
		if !errors.Is(err, iofs.ErrNotExist) || attempt == maxRetries {
			return fmt.Errorf("rename into place: %w", err)
		}
		if err := d.mkdirs(parent); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			return fmt.Errorf("create directories: %w", err)
		}
	}
	return d.syncDir(parent...)
}

// mkdirs creates the directory path dirs, syncing the parent of every
// directory it creates. It walks down with one handle per level, so the work
// is linear in the depth.
func (d *driver) mkdirs(dirs []string) error {
	cur := d.root
	defer func() {
		if cur != d.root {
			cur.Close()
		}
	}()
	for _, name := range dirs {
		switch err := cur.Mkdir(name, 0o750); {
		case err == nil:
			if err := syncDirIn(cur, "."); err != nil {
				return err
			}
		case !errors.Is(err, iofs.ErrExist):
			return err
		}
		next, err := cur.OpenRoot(name)
		if err != nil {
			return err
		}
		if cur != d.root {
			cur.Close()
		}
		cur = next
	}
	return nil
}

// syncDir fsyncs the directory at the path made of comps ("." when none).
func (d *driver) syncDir(comps ...string) error {
	p := "."
	if len(comps) > 0 {
		p = filepath.Join(comps...)
	}
	return syncDirIn(d.root, p)
}

func syncDirIn(root *os.Root, name string) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

func (d *driver) syncFile(name string) error {
	f, err := d.root.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// readNames lists the names in dir.
func (d *driver) readNames(dir string) ([]string, error) {
	f, err := d.root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Get implements location.Driver.
func (d *driver) Get(ctx context.Context, key string, rng *location.Range) (io.ReadCloser, location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, location.ObjectInfo{}, fmt.Errorf("fs: get %q: %w", key, err)
	}
	f, rec, err := d.open(key)
	if err != nil {
		return nil, location.ObjectInfo{}, fmt.Errorf("fs: get %q: %w", key, err)
	}
	off, n := int64(0), rec.size
	if rng != nil {
		if off, n, err = rng.Resolve(rec.size); err != nil {
			f.Close()
			return nil, location.ObjectInfo{}, fmt.Errorf("fs: get %q: %w", key, err)
		}
	}
	return &objectReader{ctx: ctx, f: f, r: io.NewSectionReader(f, off, n)}, rec.info(), nil
}

// objectReader reads a section of an open object file, failing once ctx is
// done.
type objectReader struct {
	ctx  context.Context
	f    *os.File
	r    *io.SectionReader
	once sync.Once
	err  error
}

func (o *objectReader) Read(p []byte) (int, error) {
	if err := o.ctx.Err(); err != nil {
		return 0, fmt.Errorf("fs: read: %w", err)
	}
	return o.r.Read(p)
}

// sendChunk bounds one ReadFrom call of WriteTo, so that ctx is checked at
// least this often.
const sendChunk = 8 << 20

// WriteTo copies the rest of the section to w. When w is an io.ReaderFrom (an
// HTTP response, a TCP connection, a file) it hands w the file itself, limited
// to the section, in chunks of at most sendChunk bytes: net/http then sends it
// with sendfile(2), without copying through user space. ctx is checked before
// each chunk. Other writers get ordinary reads.
func (o *objectReader) WriteTo(w io.Writer) (int64, error) {
	rf, ok := w.(io.ReaderFrom)
	if !ok {
		return io.Copy(w, struct{ io.Reader }{o}) // Read checks ctx
	}
	_, base, size := o.r.Outer()
	pos, err := o.r.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, fmt.Errorf("fs: read: %w", err)
	}
	var total int64
	for pos < size {
		if err := o.ctx.Err(); err != nil {
			return total, fmt.Errorf("fs: read: %w", err)
		}
		if _, err := o.f.Seek(base+pos, io.SeekStart); err != nil {
			return total, fmt.Errorf("fs: read: %w", err)
		}
		lr := &io.LimitedReader{R: o.f, N: min(size-pos, sendChunk)}
		want := lr.N
		n, err := rf.ReadFrom(lr)
		total += n
		pos += n
		if _, serr := o.r.Seek(pos, io.SeekStart); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			return total, err
		}
		if n < want {
			return total, fmt.Errorf("fs: read: %w", io.ErrUnexpectedEOF)
		}
	}
	return total, nil
}

// Close closes the file; later calls return the first result.
func (o *objectReader) Close() error {
	o.once.Do(func() { o.err = o.f.Close() })
	return o.err
}

// Stat implements location.Driver.
func (d *driver) Stat(ctx context.Context, key string) (location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, fmt.Errorf("fs: stat %q: %w", key, err)
	}
	f, rec, err := d.open(key)
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("fs: stat %q: %w", key, err)
	}
	f.Close()
	return rec.info(), nil
}

// open opens key's object file and reads its record.
func (d *driver) open(key string) (*os.File, *record, error) {
	_, p, err := d.prepare(key)
	if err != nil {
		return nil, nil, err
	}
	f, rec, err := d.openPath(p)
	if err != nil {
		return nil, nil, err
	}
	if rec.key != key {
		f.Close()
		return nil, nil, fmt.Errorf("%w: file %s holds key %q", ErrCorrupt, p, rec.key)
	}
	return f, rec, nil
}

// openPath opens the object file at p and reads its record. It returns
// location.ErrNotFound if there is none.
func (d *driver) openPath(p string) (*os.File, *record, error) {
	f, err := d.root.Open(p)
	if err != nil {
		if notExist(err) {
			return nil, nil, location.ErrNotFound
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, p)
	}
	var rec *record
	if err == nil {
		rec, err = readRecord(f, fi.Size())
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rec, nil
}

func notExist(err error) bool {
	return errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Delete implements location.Driver. It also removes the directories the
// object leaves empty.
func (d *driver) Delete(ctx context.Context, key string) error {
	if err := d.delete(ctx, key); err != nil {
		return fmt.Errorf("fs: delete %q: %w", key, err)
	}
	return nil
}

func (d *driver) delete(ctx context.Context, key string) error {
	comps, p, err := d.prepare(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.root.Remove(p); err != nil {
		if notExist(err) {
			return nil
		}
		return err
	}
	parent := comps[:len(comps)-1]
	if err := d.syncDir(parent...); err != nil && !notExist(err) { // a concurrent Delete may have pruned it
		return err
	}
	// Prune empty parents, deepest first; stop at the first that is not
	// empty. A Put racing with this recreates what it needs (see commit).
	for i := len(parent); i > 0; i-- {
		if d.root.Remove(filepath.Join(parent[:i]...)) != nil {
			break
		}
	}
	return nil
}

// Close implements location.Driver.
func (d *driver) Close() error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed.Swap(true) {
		return nil
	}
	err := d.closeFiles()
	d.log.Info("fs location closed", zap.String("root", d.dir))
	return err
}

// closeFiles releases the lock and the root handle.
func (d *driver) closeFiles() error {
	var errs []error
	if d.lock != nil {
		errs = append(errs, d.lock.Close()) // closing drops the flock
	}
	errs = append(errs, d.root.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fs: close: %w", err)
	}
	return nil
}
