// Package subject is Sluice's NATS subject scheme for events:
//
//	sluice.events.<bucket>.<category>.<action>
//
// for example sluice.events.photos.ObjectCreated.Put, so that subscribers
// filter with wildcards: sluice.events.photos.> (one bucket),
// sluice.events.*.ObjectRemoved.> (one category in every bucket). Every
// subject has exactly five tokens; event names without an action
// (LifecycleTransition, TestEvent) use NoAction as the action token.
//
// The bucket token is encoded reversibly (EncodeToken), because S3 bucket
// names may contain dots, which separate subject tokens, and foreign stores
// may hand any string.
package subject

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/events"
)

const (
	// Prefix starts every event subject.
	Prefix = "sluice.events"
	// NoAction is the action token of event names that have no action.
	NoAction = "_"
)

// Sentinel errors; every error of this package wraps one of them (or
// events.ErrUnknownEventName).
var (
	// ErrEmptyBucket: a bucket name is empty.
	ErrEmptyBucket = errors.New("subject: empty bucket name")
	// ErrInvalidToken: a bucket token is not the canonical encoding of a name.
	ErrInvalidToken = errors.New("subject: invalid bucket token")
	// ErrInvalidSubject: a subject is not an event subject of this scheme.
	ErrInvalidSubject = errors.New("subject: not a Sluice event subject")
)

const upperHex = "0123456789ABCDEF"

// safe reports whether c may appear unescaped in a token: ASCII letters,
// digits, '-' and '_'. Everything else ('.', '*', '>', '%', whitespace,
// control and non-ASCII bytes, ...) is written %XX.
func safe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// EncodeToken encodes a bucket name (any string, any bytes) as a single NATS
// subject token: safe bytes as they are, every other byte as %XX with
// upper-case hex. "photos.2024" becomes "photos%2E2024". The encoding is
// canonical: each name has exactly one token. It returns ErrEmptyBucket for "".
func EncodeToken(bucket string) (string, error) {
	if bucket == "" {
		return "", ErrEmptyBucket
	}
	var b strings.Builder
	b.Grow(len(bucket))
	for i := 0; i < len(bucket); i++ {
		c := bucket[i]
		if safe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String(), nil
}

// DecodeToken reverses EncodeToken. It accepts only canonical tokens
// (upper-case hex, no escape of a safe byte), so that DecodeToken(t)
// succeeds exactly when t == EncodeToken(name) for some name. It returns an
// error wrapping ErrInvalidToken otherwise, and ErrEmptyBucket for "".
func DecodeToken(token string) (string, error) {
	if token == "" {
		return "", ErrEmptyBucket
	}
	b := make([]byte, 0, len(token))
	for i := 0; i < len(token); i++ {
		c := token[i]
		if safe(c) {
			b = append(b, c)
			continue
		}
		if c != '%' || i+2 >= len(token) {
			return "", fmt.Errorf("%w: %q: byte %d", ErrInvalidToken, token, i)
		}
		hi, lo := strings.IndexByte(upperHex, token[i+1]), strings.IndexByte(upperHex, token[i+2])
		if hi < 0 || lo < 0 || safe(byte(hi<<4|lo)) {
			return "", fmt.Errorf("%w: %q: escape at byte %d", ErrInvalidToken, token, i)
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	return string(b), nil
}

// eventTokens returns the category and action tokens of a known event name.
func eventTokens(eventName string) (category, action string, err error) {
	n := events.EventName(eventName)
	if !n.Valid() {
		return "", "", fmt.Errorf("subject: %w: %q", events.ErrUnknownEventName, eventName)
	}
	action = n.Action()
	if action == "" {
		action = NoAction
	}
	return n.Category(), action, nil
}

// ForEvent returns the subject of an event: Prefix.<bucket token>.<category>.<action>.
// eventName is a known name without "s3:" ("ObjectCreated:Put"). It returns
// ErrEmptyBucket or an error wrapping events.ErrUnknownEventName.
func ForEvent(bucket, eventName string) (string, error) {
	tok, err := EncodeToken(bucket)
	if err != nil {
		return "", err
	}
	cat, act, err := eventTokens(eventName)
	if err != nil {
		return "", err
	}
	return Prefix + "." + tok + "." + cat + "." + act, nil
}

// Parse splits an event subject into its bucket name and event name
// ("ObjectCreated:Put", "LifecycleTransition"). It never panics and returns
// an error wrapping ErrInvalidSubject (wrong prefix, token count or event
// name) or ErrInvalidToken / ErrEmptyBucket (bad bucket token). A subject
// that parses is exactly ForEvent of the results.
func Parse(subject string) (bucket, eventName string, err error) {
	rest, ok := strings.CutPrefix(subject, Prefix+".")
	if !ok {
		return "", "", fmt.Errorf("%w: %q lacks prefix %s", ErrInvalidSubject, subject, Prefix)
	}
	toks := strings.Split(rest, ".")
	if len(toks) != 3 {
		return "", "", fmt.Errorf("%w: %q: want 5 tokens", ErrInvalidSubject, subject)
	}
	bucket, err = DecodeToken(toks[0])
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	name := toks[1]
	switch toks[2] {
	case NoAction:
	case "":
		return "", "", fmt.Errorf("%w: %q: empty action", ErrInvalidSubject, subject)
	default:
		name += ":" + toks[2]
	}
	if !events.EventName(name).Valid() {
		return "", "", fmt.Errorf("%w: %w: %q", ErrInvalidSubject, events.ErrUnknownEventName, name)
	}
	return bucket, name, nil
}

// All is the filter for every event: "sluice.events.>".
func All() string { return Prefix + ".>" }

// Bucket is the filter for every event of one bucket. It returns ErrEmptyBucket.
func Bucket(bucket string) (string, error) {
	tok, err := EncodeToken(bucket)
	if err != nil {
		return "", err
	}
	return Prefix + "." + tok + ".>", nil
}

// Category is the filter for one category ("ObjectRemoved") in every
// bucket. It returns an error wrapping events.ErrUnknownEventName for an
// unknown category.
func Category(category string) (string, error) {
	cat, err := categoryToken(category)
	if err != nil {
		return "", err
	}
	return Prefix + ".*." + cat + ".*", nil
}

// BucketCategory is the filter for one category of one bucket. It returns
// ErrEmptyBucket or an error wrapping events.ErrUnknownEventName.
func BucketCategory(bucket, category string) (string, error) {
	tok, err := EncodeToken(bucket)
	if err != nil {
		return "", err
	}
	cat, err := categoryToken(category)
	if err != nil {
		return "", err
	}
	return Prefix + "." + tok + "." + cat + ".*", nil
}

func categoryToken(category string) (string, error) {
	for _, n := range events.AllEventNames() {
		if n.Category() == category {
			return category, nil
		}
	}
	return "", fmt.Errorf("subject: %w: category %q", events.ErrUnknownEventName, category)
}

// ForPattern turns an S3 notification event pattern ("s3:ObjectCreated:*",
// "s3:ObjectRemoved:Delete", "LifecycleTransition"; "s3:" optional) into the
// NATS filter subject selecting exactly those events of bucket:
// "sluice.events.photos.ObjectCreated.*". It returns ErrEmptyBucket or an
// error wrapping events.ErrUnknownEventName for a pattern AWS would reject.
func ForPattern(bucket, pattern string) (string, error) {
	tok, err := EncodeToken(bucket)
	if err != nil {
		return "", err
	}
	p, err := events.ParsePattern(pattern)
	if err != nil {
		return "", fmt.Errorf("subject: %w", err)
	}
	act := p.Action
	switch {
	case p.Wildcard:
		act = "*"
	case act == "":
		act = NoAction
	}
	return Prefix + "." + tok + "." + p.Category + "." + act, nil
}
