package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
)

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// deriveSigningKey is kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date),
// region), service), "aws4_request").
func deriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

// maxCachedKeys bounds the signing key cache; when it is full it is
// emptied, which costs four HMACs per key on the next requests.
const maxCachedKeys = 4096

type keyCacheKey struct {
	accessKey, date, region string
}

type keyCacheEntry struct {
	secret string
	key    []byte
}

// keyCache caches derived signing keys per access key, scope date and
// region. An entry is used only when the secret it was derived from equals
// the secret just looked up, so a rotated secret is never served stale.
type keyCache struct {
	mu sync.Mutex
	m  map[keyCacheKey]keyCacheEntry
}

func (c *keyCache) signingKey(accessKey, secret, date, region string) []byte {
	k := keyCacheKey{accessKey, date, region}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && subtle.ConstantTimeCompare([]byte(e.secret), []byte(secret)) == 1 {
		return e.key
	}
	key := deriveSigningKey(secret, date, region, serviceS3)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[keyCacheKey]keyCacheEntry)
	}
	c.m[k] = keyCacheEntry{secret: secret, key: key}
	c.mu.Unlock()
	return key
}
