package s3

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// Metadata keys starting with internalPrefix belong to the driver; a user
// key with that prefix is stored with the prefix doubled.
const (
	internalPrefix = "sluice--"
	md5MetaKey     = internalPrefix + "md5"
)

// defaultContentType is stored when PutOptions.ContentType is empty, so
// that Put and Stat agree whatever the store's own default is.
const defaultContentType = "application/octet-stream"

// encodeMetadata returns the x-amz-meta-* map that stores user: keys
// lowercased (as S3 returns them) with the internal prefix escaped, values
// encoded where S3 would not keep them. It returns an error wrapping
// location.ErrInvalidArgument for a key that is not an HTTP token or that
// collides with another once lowercased. It leaves room for the driver's
// own keys, which the caller adds.
func encodeMetadata(user map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(user)+1)
	for k, v := range user {
		if !isToken(k) {
			return nil, fmt.Errorf("%w: metadata key %q is not an HTTP header token", location.ErrInvalidArgument, k)
		}
		sk := strings.ToLower(k)
		if strings.HasPrefix(sk, internalPrefix) {
			sk = internalPrefix + sk
		}
		if _, dup := out[sk]; dup {
			return nil, fmt.Errorf("%w: metadata keys differing only in case (%q): S3 ignores case", location.ErrInvalidArgument, k)
		}
		out[sk] = remote.EncodeValue(v)
	}
	return out, nil
}

// decodeMetadata splits stored metadata into the user's, decoded, and the
// MD5 the driver stored ("" if none). It returns nil user metadata when
// there is none.
func decodeMetadata(stored map[string]string) (user map[string]string, md5Hex string) {
	for k, v := range stored {
		k = strings.ToLower(k)
		if rest, ok := strings.CutPrefix(k, internalPrefix); ok {
			if !strings.HasPrefix(rest, internalPrefix) {
				if k == md5MetaKey && isMD5Hex(v) {
					md5Hex = v
				}
				continue // another driver-owned key, from a later version
			}
			k = rest
		}
		if user == nil {
			user = make(map[string]string, len(stored))
		}
		user[k] = remote.DecodeValue(v)
	}
	return user, md5Hex
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isMD5Hex reports whether s is 32 lowercase hex digits.
func isMD5Hex(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// objectInfo builds the ObjectInfo of a stored object from what S3
// returned: the MD5 from the driver's metadata when there, else S3's ETag
// without quotes.
func objectInfo(key string, size int64, etag, contentType string, stored map[string]string, modTime time.Time) location.ObjectInfo {
	user, sum := decodeMetadata(stored)
	if sum == "" {
		sum = strings.Trim(etag, `"`)
	}
	return location.ObjectInfo{Key: key, Size: size, ETag: sum, ContentType: contentType, Metadata: user, ModTime: modTime}
}
