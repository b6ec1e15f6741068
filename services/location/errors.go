package location

import "errors"

// Sentinel errors returned by drivers, wrapped with context. Test them with
// errors.Is.
var (
	// ErrNotFound means the key holds no object.
	ErrNotFound = errors.New("location: object not found")
	// ErrInvalidKey means the key is empty, longer than MaxKeyLen, or a byte
	// sequence this driver cannot store.
	ErrInvalidKey = errors.New("location: invalid key")
	// ErrInvalidRange means a Range is malformed or cannot be satisfied by
	// the object's size.
	ErrInvalidRange = errors.New("location: invalid range")
	// ErrInvalidArgument means an option is malformed: a negative Size other
	// than -1, a ContentMD5 that is not 16 bytes, metadata too large for the
	// driver, an empty source list.
	ErrInvalidArgument = errors.New("location: invalid argument")
	// ErrSizeMismatch means PutOptions.Size was set and the reader yielded a
	// different number of bytes.
	ErrSizeMismatch = errors.New("location: size mismatch")
	// ErrBadDigest means PutOptions.ContentMD5 was set and the data's MD5
	// differs.
	ErrBadDigest = errors.New("location: content MD5 mismatch")
	// ErrClosed means the driver was closed.
	ErrClosed = errors.New("location: driver closed")
	// ErrUnknownType means no driver is registered for Config.Type.
	ErrUnknownType = errors.New("location: unknown driver type")
	// ErrInvalidConfig means a Config is incomplete or contradictory.
	ErrInvalidConfig = errors.New("location: invalid config")
	// ErrUnknownLocation means a Set holds no location of that name.
	ErrUnknownLocation = errors.New("location: unknown location")
)
