package azure

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// escapedKeyPrefix starts every metadata name that is an encoded key.
const escapedKeyPrefix = "x_"

// defaultContentType is stored when PutOptions.ContentType is empty, so
// that Put and Stat agree.
const defaultContentType = "application/octet-stream"

// encodeKey returns the metadata name that stores user key k: k itself
// when it is a lower-case letter followed by lower-case letters and
// digits, else "x_" and k with every other byte as "_" and two hex digits.
// Every result is a C# identifier in lower case, and distinct keys give
// distinct names.
func encodeKey(k string) string {
	if isPlainKey(k) {
		return k
	}
	const hexDigits = "0123456789abcdef"
	b := make([]byte, 0, len(escapedKeyPrefix)+3*len(k))
	b = append(b, escapedKeyPrefix...)
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b = append(b, c)
		} else {
			b = append(b, '_', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(b)
}

// decodeKey reverses encodeKey. Azure returns names in any case, so it
// folds them to lower case first. A name encodeKey cannot produce is
// returned folded.
func decodeKey(name string) string {
	name = strings.ToLower(name)
	rest, ok := strings.CutPrefix(name, escapedKeyPrefix)
	if !ok {
		return name
	}
	b := make([]byte, 0, len(rest))
	for i := 0; i < len(rest); i++ {
		if rest[i] != '_' {
			b = append(b, rest[i])
			continue
		}
		if i+2 >= len(rest) {
			return name
		}
		v, err := hex.DecodeString(rest[i+1 : i+3])
		if err != nil {
			return name
		}
		b = append(b, v[0])
		i += 2
	}
	return string(b)
}

// isPlainKey reports whether k is stored as it is.
func isPlainKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// encodeMetadata returns the Azure metadata that stores user.
func encodeMetadata(user map[string]string) (map[string]*string, error) {
	if len(user) == 0 {
		return nil, nil
	}
	out := make(map[string]*string, len(user))
	for k, v := range user {
		if k == "" {
			return nil, fmt.Errorf("%w: empty metadata key", location.ErrInvalidArgument)
		}
		ev := remote.EncodeValue(v)
		out[encodeKey(k)] = &ev
	}
	return out, nil
}

// decodeMetadata reverses encodeMetadata; it returns nil when there is no
// metadata.
func decodeMetadata(stored map[string]*string) map[string]string {
	if len(stored) == 0 {
		return nil
	}
	out := make(map[string]string, len(stored))
	for k, v := range stored {
		if v != nil {
			out[decodeKey(k)] = remote.DecodeValue(*v)
		}
	}
	return out
}

// objectInfo builds the ObjectInfo of a blob: the ETag is the hex of its
// Content-MD5 property, or Azure's ETag when it has none (blobs written by
// others with Put Block List).
func objectInfo(key string, size int64, contentMD5 []byte, etag azcore.ETag, contentType string, stored map[string]*string, modTime time.Time) location.ObjectInfo {
	tag := hex.EncodeToString(contentMD5)
	if len(contentMD5) != 16 {
		tag = strings.Trim(string(etag), `"`)
	}
	return location.ObjectInfo{Key: key, Size: size, ETag: tag, ContentType: contentType, Metadata: decodeMetadata(stored), ModTime: modTime}
}
