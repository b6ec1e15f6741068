// Package fs is the local-disk location driver, the default location of a
// single-process Sluice. It registers itself as location type "fs"; import
// it for its side effect, or call New directly.
//
// # Writes
//
// Put streams the body through one fixed buffer (DefaultBufferSize) into a
// temp file under <root>/.tmp, computing the MD5 on the way, appends the
// metadata record, fsyncs the file, renames it into place and fsyncs the
// directory. A reader therefore sees the old object or the new one, never a
// part; a failed or cancelled Put removes its temp file. Temp files left by
// a crash are deleted when the next driver opens the root. The root is
// flock(2)ed while open, so one process at a time owns it; inside that
// process every New on the root shares one open root (see shared.go), so
// that s3front and the replicator of one process can both use it.
//
// # Reads
//
// Get opens the file and reads its record with one read of the file's tail.
// The returned reader also implements io.WriterTo: copied with io.Copy into
// an io.ReaderFrom such as an HTTP response, it hands over the file itself,
// limited to the selected range, so net/http sends it with sendfile(2)
// instead of copying it through user space. ctx is checked between chunks
// of at most 8 MiB.
//
// # Object files
//
// Data and metadata (key, size, ETag, content type, user metadata, time)
// share one file: data first, then a record and a checksummed footer (see
// record.go). A data file and a sidecar could not be replaced by one atomic
// rename; one file can. Range reads seek into the data part.
//
// # Key to path mapping
//
// Any key, as any byte sequence of up to location.MaxKeyLen bytes, maps to
// one path strictly inside the root, and distinct keys to distinct paths:
//
//   - The key is split at every "/" into segments; empty segments count
//     ("a//b" has three, "/a" and "a/" two).
//   - Each segment is escaped: ASCII letters, digits, '-', '_' and '.' stay
//     as they are, except a '.' that would start a name; every other byte
//     becomes %XX (upper-case hex). The empty segment becomes "%". So no
//     name is ".", "..", hidden, or holds '/', '\\' or NUL, and the
//     driver's own names (".tmp", ".lock", ".sluice-fs") never collide
//     with objects. On a case-insensitive filesystem (probed when a root
//     is created, remembered in .sluice-fs) upper-case letters are escaped
//     too.
//   - An escaped segment longer than 240 bytes is cut into pieces of at
//     most 240 bytes; every piece but the last becomes a directory named
//     "<piece>~+" holding the rest, so no name exceeds NAME_MAX.
//   - Every segment but the last becomes a directory named by its escaped
//     form; the last becomes the object file "<escaped>~o".
//
// For example "photos/2024/cat.jpg" is stored at photos/2024/cat.jpg~o,
// "a" at a~o and "a/b" at a/b~o (so both exist side by side), "a/" at
// a/%~o, "../x" at %2E./x~o and "/etc/passwd" at %/etc/passwd~o. The
// escaping never emits '~', so directories, continuations and objects are
// told apart by name alone, and every name decodes back to its key bytes:
// List rebuilds keys from names and returns them in byte order (see List).
// Besides this check by construction, every path is checked again to be
// local before use, and all file access goes through os.Root, which
// refuses to leave the root even through symbolic links.
package fs
