package fs

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/location"
)

// List implements location.Driver.
//
// Keys come out of a best-first walk: a heap of directory cursors ordered
// by the key bytes each next entry stands for. A directory's entries all
// share that entry's key bytes as a prefix, so every key below it sorts at
// or after them, and popping the smallest entry first yields keys in exact
// byte order, even where a long segment's continuation directory and a
// "/" directory interleave. Entries that cannot hold a key matching prefix
// and following startAfter are skipped without being opened.
func (d *driver) List(ctx context.Context, prefix, startAfter string, limit int) ([]location.ObjectInfo, error) {
	out, err := d.list(ctx, prefix, startAfter, limit)
	if err != nil {
		return nil, fmt.Errorf("fs: list %q after %q: %w", prefix, startAfter, err)
	}
	return out, nil
}

func (d *driver) list(ctx context.Context, prefix, startAfter string, limit int) ([]location.ObjectInfo, error) {
	if d.closed.Load() {
		return nil, location.ErrClosed
	}
	if limit <= 0 {
		limit = location.DefaultListLimit
	}
	f := listFilter{prefix: prefix, startAfter: startAfter}
	var h cursorHeap
	top, err := d.readEntries(".", "", f)
	if err != nil {
		return nil, err
	}
	if len(top) > 0 {
		h = append(h, &cursor{entries: top})
	}
	var out []location.ObjectInfo
	for len(out) < limit && len(h) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := h[0]
		e := c.entries[c.next]
		if c.next++; c.next == len(c.entries) {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
		if e.kind != kindObject {
			entries, err := d.readEntries(e.path, e.key, f)
			if err != nil {
				return nil, err
			}
			if len(entries) > 0 {
				heap.Push(&h, &cursor{entries: entries})
			}
			continue
		}
		if comps, err := d.m.components(e.key); err != nil || !slices.Equal(comps, strings.Split(e.path, string(filepath.Separator))) {
			continue // not where this driver would put e.key: a stray file
		}
		fl, rec, err := d.openPath(e.path)
		switch {
		case errors.Is(err, location.ErrNotFound):
			continue // deleted since the directory was read
		case err == nil && rec.key != e.key:
			err = fmt.Errorf("%w: holds key %q", ErrCorrupt, rec.key)
		}
		if err != nil {
			d.log.Warn("fs list: skipping unreadable object file", zap.String("path", e.path), zap.Error(err))
			continue
		}
		fl.Close()
		out = append(out, rec.info())
	}
	return out, nil
}

// listFilter decides which layout entries can hold keys List wants.
type listFilter struct {
	prefix, startAfter string
}

// wantObject reports whether key belongs in the result.
func (f listFilter) wantObject(key string) bool {
	return key > f.startAfter && strings.HasPrefix(key, f.prefix)
}

// wantDir reports whether some key starting with p may belong in the
// result.
func (f listFilter) wantDir(p string) bool {
	if !strings.HasPrefix(p, f.prefix) && !strings.HasPrefix(f.prefix, p) {
		return false
	}
	// Every key below p is < startAfter when p is, unless p is a prefix
	// of startAfter.
	return p >= f.startAfter || strings.HasPrefix(f.startAfter, p)
}

// entry is one name in a directory of the layout.
type entry struct {
	key  string // the key (objects) or the key prefix (directories) it stands for
	kind entryKind
	path string // relative to the root
}

// readEntries reads the directory dir, which stands for key prefix base,
// and returns the entries f wants, sorted. A directory that no longer
// exists reads as empty.
func (d *driver) readEntries(dir, base string, f listFilter) ([]entry, error) {
	names, err := d.readNames(dir)
	if err != nil {
		if notExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []entry
	for _, name := range names {
		piece, kind, ok := d.m.parseName(name)
		if !ok {
			continue // internal names (".tmp", ".lock") and strays
		}
		e := entry{key: base + piece, kind: kind, path: filepath.Join(dir, name)}
		switch kind {
		case kindObject:
			ok = f.wantObject(e.key)
		case kindDir:
			e.key += "/"
			ok = f.wantDir(e.key)
		case kindContinue:
			ok = f.wantDir(e.key)
		}
		if ok {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, compareEntries)
	return out, nil
}

// compareEntries orders entries by key; on a tie the object comes first,
// since every key below a directory is longer than the directory's prefix.
func compareEntries(a, b entry) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	switch {
	case a.kind == b.kind:
		return 0
	case a.kind == kindObject:
		return -1
	case b.kind == kindObject:
		return 1
	}
	return 0
}

// cursor walks the sorted entries of one directory.
type cursor struct {
	entries []entry
	next    int
}

// cursorHeap is a min-heap of cursors by their next entry.
type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	return compareEntries(h[i].entries[h[i].next], h[j].entries[h[j].next]) < 0
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
