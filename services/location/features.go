package location

// Features declares what a driver supports beyond the portable core, so that
// the conformance suite (package locationtest) skips the subtests that do
// not apply. The zero value claims only the core every driver MUST provide:
// keys of printable UTF-8 up to MaxKeyLen bytes, including spaces, unicode
// and "/" separated names, and metadata of printable ASCII.
type Features struct {
	// NULKeys: keys may contain the NUL byte.
	NULKeys bool
	// BinaryKeys: keys may be byte sequences that are not valid UTF-8 and
	// may hold control characters.
	BinaryKeys bool
	// PathLikeKeys: keys may hold "." and ".." segments, empty segments
	// ("a//b"), a leading "/", a trailing "/" ("a" and "a/" being distinct
	// objects) and backslashes, all stored literally.
	PathLikeKeys bool
	// NestedKeys: a key may also be a "directory" of other keys: "a" and
	// "a/b" can both hold objects.
	NestedKeys bool
	// UnicodeMetadata: metadata values outside printable ASCII round-trip.
	UnicodeMetadata bool
	// LargeObjectSize is the size of the object the streaming subtest
	// writes and reads back while checking that memory stays flat;
	// 0 means the suite's default (64 MiB). The environment variable
	// SLUICE_LOCATION_LARGE_SIZE overrides it.
	LargeObjectSize int64
}
