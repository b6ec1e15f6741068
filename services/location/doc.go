// Package location defines how Sluice stores object data: the Driver
// contract every storage backend implements (fs now; s3, azure and gcs
// later), the optional abilities a driver may add (Composer), the Features a
// driver declares to the conformance suite in package locationtest, and the
// registry that opens a named location from its Config.
//
// A location is a flat namespace of keys. A key is any non-empty byte
// sequence of at most MaxKeyLen bytes: "../x", "a//b", "/abs", keys holding
// NUL or invalid UTF-8 are all legal keys, and a driver MUST either store
// them as distinct objects or reject them with ErrInvalidKey. A driver MUST
// NOT interpret a key as a path of the machine it runs on.
//
// Drivers register themselves with Register from an init function, the way
// database/sql drivers do; a program selects them with a blank import:
//
//	import _ "github.com/sluice-io/sluice/services/location/fs"
//
//	d, err := location.Open(ctx, "primary", location.Config{Type: "fs", Path: "/var/lib/sluice"}, logger)
package location
