package location

import "fmt"

// MaxKeyLen is the largest key, in bytes, every driver MUST accept (the S3
// limit).
const MaxKeyLen = 1024

// ValidateKey reports whether key is acceptable to every driver: non-empty
// and at most MaxKeyLen bytes. Any byte sequence within those bounds passes;
// a driver may still reject bytes it cannot store. It returns an error
// wrapping ErrInvalidKey.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: key is %d bytes, limit %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	return nil
}
