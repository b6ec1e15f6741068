package deliver

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them (or an
// error of package bus or jetstream, as each function says).
var (
	// ErrInvalidConfig: a target configuration or Config is not valid.
	ErrInvalidConfig = errors.New("deliver: invalid configuration")

	// ErrInvalidARN: a string is not a Sluice target ARN
	// (arn:sluice:webhook::<name>, arn:sluice:function::<name>,
	// arn:sluice:nats::<subject>).
	ErrInvalidARN = errors.New("deliver: invalid target ARN")

	// ErrUnknownTarget: an ARN or name does not name a configured target.
	ErrUnknownTarget = errors.New("deliver: unknown target")

	// ErrInvalidSubscription: a subscription's bucket or filter rule is not
	// valid (the filter package's sentinel is wrapped as well).
	ErrInvalidSubscription = errors.New("deliver: invalid subscription")

	// ErrDelivery: a target did not accept a delivery (wrapped, with the
	// cause, in the errors handlers return to the bus).
	ErrDelivery = errors.New("deliver: delivery failed")
)
