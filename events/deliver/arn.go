package deliver

import (
	"fmt"
	"strings"
)

// ARNPrefix starts every Sluice target ARN.
const ARNPrefix = "arn:sluice:"

// ARN names a delivery target in a bucket notification configuration:
//
//	arn:sluice:webhook::<name>    a webhook target, by name
//	arn:sluice:function::<name>   a function target, by name
//	arn:sluice:nats::<subject>    a NATS target, by the subject it publishes to
//
// The region field (between the two colons) is always empty.
type ARN struct {
	// Kind is the target kind.
	Kind Kind
	// Resource is the target name (webhook, function) or the NATS subject.
	Resource string
}

// ParseARN parses a Sluice target ARN. It never panics and returns an error
// wrapping ErrInvalidARN when s is not "arn:sluice:<kind>::<resource>" with
// a known kind and a non-empty resource (a valid target name for webhook and
// function, a valid publish subject for nats).
func ParseARN(s string) (ARN, error) {
	rest, ok := strings.CutPrefix(s, ARNPrefix)
	if !ok {
		return ARN{}, fmt.Errorf("%w: %q does not start with %s", ErrInvalidARN, s, ARNPrefix)
	}
	kind, resource, ok := strings.Cut(rest, "::")
	if !ok {
		return ARN{}, fmt.Errorf("%w: %q: want %s<kind>::<resource>", ErrInvalidARN, s, ARNPrefix)
	}
	a := ARN{Kind: Kind(kind), Resource: resource}
	switch a.Kind {
	case KindWebhook, KindFunction:
		if err := validTargetName(resource); err != nil {
			return ARN{}, fmt.Errorf("%w: %q: %w", ErrInvalidARN, s, err)
		}
	case KindNATS:
		if err := validPublishSubject(resource); err != nil {
			return ARN{}, fmt.Errorf("%w: %q: %w", ErrInvalidARN, s, err)
		}
	default:
		return ARN{}, fmt.Errorf("%w: %q: unknown kind %q (want webhook, function or nats)", ErrInvalidARN, s, kind)
	}
	return a, nil
}

// String returns the ARN's text form, which ParseARN accepts.
func (a ARN) String() string { return ARNPrefix + string(a.Kind) + "::" + a.Resource }
