package sigv4

import (
	"context"
	"errors"
)

// ErrUnknownAccessKey is returned by a Credentials implementation when it
// has no secret for the access key. Verify maps it to an *Error with code
// InvalidAccessKeyId.
var ErrUnknownAccessKey = errors.New("sigv4: unknown access key")

// Credentials looks up the secret of an access key.
type Credentials interface {
	// Lookup returns the secret access key and the principal (the identity
	// the key belongs to, used for authorization) of accessKey. It returns
	// ErrUnknownAccessKey (possibly wrapped) when the key does not exist;
	// any other error is an internal failure and Verify returns it wrapped,
	// not as an *Error.
	Lookup(ctx context.Context, accessKey string) (secret, principal string, err error)
}

// StaticKey is one entry of StaticCredentials.
type StaticKey struct {
	// Secret is the secret access key.
	Secret string
	// Principal is the identity Lookup returns with it.
	Principal string
}

// StaticCredentials is an in-memory Credentials keyed by access key. It is
// safe for concurrent use as long as it is not modified.
type StaticCredentials map[string]StaticKey

// Lookup returns the key's secret and principal, or ErrUnknownAccessKey.
func (s StaticCredentials) Lookup(_ context.Context, accessKey string) (string, string, error) {
	k, ok := s[accessKey]
	if !ok {
		return "", "", ErrUnknownAccessKey
	}
	return k.Secret, k.Principal, nil
}
