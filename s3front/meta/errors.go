package meta

import (
	"errors"
	"time"
)

// Sentinel errors returned by every Store implementation. Callers test them with
// errors.Is; implementations may wrap them with more context.
var (
	// ErrNoSuchBucket: the named bucket does not exist.
	ErrNoSuchBucket = errors.New("meta: no such bucket")
	// ErrBucketExists: CreateBucket found a bucket with that name. The caller compares
	// owners to choose between BucketAlreadyOwnedByYou and BucketAlreadyExists.
	ErrBucketExists = errors.New("meta: bucket already exists")
	// ErrBucketNotEmpty: DeleteBucket found a version, a delete marker or an
	// in-progress multipart upload in the bucket.
	ErrBucketNotEmpty = errors.New("meta: bucket not empty")
	// ErrNoSuchKey: the key has no versions, or (when no version id was asked for)
	// its latest version is a delete marker. In the latter case the error is a
	// *DeleteMarkerError, which also matches ErrDeleteMarker.
	ErrNoSuchKey = errors.New("meta: no such key")
	// ErrNoSuchVersion: a version id was given and that version does not exist.
	ErrNoSuchVersion = errors.New("meta: no such version")
	// ErrDeleteMarker: the addressed version is a delete marker. Always carried by
	// a *DeleteMarkerError.
	ErrDeleteMarker = errors.New("meta: version is a delete marker")
	// ErrNoSuchUpload: the multipart upload does not exist (never created, completed,
	// aborted, or created for another bucket/key).
	ErrNoSuchUpload = errors.New("meta: no such upload")
	// ErrInvalidPart: CompleteUpload listed a part that was not uploaded, or whose
	// data key does not match the uploaded part.
	ErrInvalidPart = errors.New("meta: invalid part")
	// ErrNoSuchConfig: the bucket has no sub-document of the requested kind.
	ErrNoSuchConfig = errors.New("meta: no such bucket configuration")
	// ErrInvalidArgument: an argument is malformed (unknown versioning status, empty
	// bucket name or key, unknown config kind, non-positive part number...).
	ErrInvalidArgument = errors.New("meta: invalid argument")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("meta: store closed")
)

// DeleteMarkerError reports that the addressed object version is a delete marker.
// The S3 server sets x-amz-delete-marker: true (and x-amz-version-id) from it.
//
// errors.Is(err, ErrDeleteMarker) is always true. errors.Is(err, ErrNoSuchKey) is true
// only when no version id was requested (S3 answers 404 NoSuchKey); when the caller
// named the marker's version id explicitly (Explicit), S3 answers 405
// MethodNotAllowed instead, so ErrNoSuchKey does not match.
type DeleteMarkerError struct {
	Bucket       string
	Key          string
	VersionID    string    // the delete marker's version id
	LastModified time.Time // when the delete marker was created
	Explicit     bool      // the request named this version id
}

// Error implements error.
func (e *DeleteMarkerError) Error() string {
	if e.Explicit {
		return "meta: version " + e.VersionID + " of " + e.Bucket + "/" + e.Key + " is a delete marker"
	}
	return "meta: no such key " + e.Bucket + "/" + e.Key + " (latest version " + e.VersionID + " is a delete marker)"
}

// Is makes errors.Is match ErrDeleteMarker, and ErrNoSuchKey when !Explicit.
func (e *DeleteMarkerError) Is(target error) bool {
	switch target {
	case ErrDeleteMarker:
		return true
	case ErrNoSuchKey:
		return !e.Explicit
	}
	return false
}
