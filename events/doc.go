// Package events is Sluice's event contract: the S3 event notification record
// (AWS eventVersion 2.x, plus Sluice's own fields), the event names, and the
// mapping of a record onto a CloudEvent per the CloudEvents "AWS S3 adapter",
// with its wire forms on NATS (binary content mode in headers) and on HTTP
// (binary and structured modes).
//
// A producer builds a Record, calls ToCloudEvent with the event's unique id,
// and NewNATSMsg with the subject from package subject. A consumer calls
// EventFromNATS and RecordFromCloudEvent. Every decoding error wraps a
// sentinel from errors.go; all of them mean the input is bad for good, so
// consumers terminate such messages instead of retrying them.
//
// Subpackages: subject (the NATS subject scheme) and filter (S3
// notification filter rules).
package events
