package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

// ReplicateFunc makes rs the replication rules of bucket (none removes
// them); see rules.Store.Put.
type ReplicateFunc func(ctx context.Context, bucket string, rs []rules.Rule) error

// bucketARNPrefix is how an AWS destination bucket ARN starts.
const bucketARNPrefix = "arn:aws:s3:::"

// ReplicationRules maps a validated AWS replication configuration to the
// replicator's rules. Each destination is the Sluice location named by the
// rule's StorageClass, or else by the last segment of its bucket ARN
// "arn:aws:s3:::<name>"; isLocation says whether a name is a configured
// location. A Bucket that is not a bucket ARN is InvalidArgument; a
// destination naming no configured location is InvalidRequest
// ("Destination bucket must exist."), as AWS answers for a missing
// destination bucket; a location name the replicator cannot use is
// InvalidArgument. Errors are *s3err.Error.
func ReplicationRules(c *s3xml.ReplicationConfiguration, isLocation func(string) bool) ([]rules.Rule, error) {
	out := make([]rules.Rule, 0, len(c.Rules))
	for i := range c.Rules {
		r := &c.Rules[i]
		loc, err := destinationLocation(r.Destination, isLocation)
		if err != nil {
			return nil, err
		}
		prefix, tags := r.Selector()
		rr := rules.Rule{
			ID:                        r.ID,
			Status:                    r.Status,
			Filter:                    rules.Filter{Prefix: prefix},
			Destination:               rules.Destination{Location: loc},
			DeleteMarkerReplication:   r.DeleteMarkerReplication.Enabled(),
			ExistingObjectReplication: r.ExistingObjectReplication.Enabled(),
		}
		if r.Priority != nil {
			rr.Priority = *r.Priority
		}
		if len(tags) > 0 {
			rr.Filter.Tags = make(map[string]string, len(tags))
			for _, t := range tags {
				rr.Filter.Tags[t.Key] = t.Value
			}
		}
		if err := rr.Validate(); err != nil {
			return nil, s3err.New(s3err.InvalidArgument, "Invalid replication destination: "+strings.TrimPrefix(err.Error(), "rules: invalid replication rule: ")).WithCause(err)
		}
		out = append(out, rr)
	}
	return out, nil
}

// destinationLocation resolves a rule's destination to a location name.
func destinationLocation(d *s3xml.Destination, isLocation func(string) bool) (string, error) {
	if d == nil {
		return "", s3err.New(s3err.MalformedXML, "A replication rule must have a Destination with a Bucket.")
	}
	if d.StorageClass != "" && isLocation(d.StorageClass) {
		return d.StorageClass, nil
	}
	name, ok := strings.CutPrefix(d.Bucket, bucketARNPrefix)
	if !ok || name == "" || strings.ContainsAny(name, ":/") {
		return "", s3err.New(s3err.InvalidArgument, "Invalid bucket ARN.").WithArgument("Bucket", d.Bucket)
	}
	if isLocation(name) {
		return name, nil
	}
	return "", s3err.New(s3err.InvalidRequest,
		"Destination bucket must exist. (In Sluice, the StorageClass or the bucket ARN of a destination must name a configured location.)")
}

// isLocation reports whether name is a configured location.
func (s *Server) isLocation(name string) bool {
	_, ok := s.locations[name]
	return ok
}

// applyReplication hands the bucket's rules to Replicate after the metadata
// commit; a failure is 503 ServiceUnavailable (the request is idempotent
// and the stored configuration is re-applied at startup).
func (s *Server) applyReplication(rc *reqCtx, rs []rules.Rule) error {
	if s.replicate == nil {
		return nil
	}
	if err := s.replicate(rc.ctx, rc.route.Bucket, rs); err != nil {
		s.log.Warn("replication rules not applied", zap.String("bucket", rc.route.Bucket), zap.Error(err))
		return s3err.New(s3err.ServiceUnavailable, "The replication configuration was stored but could not be applied yet; please retry.").WithCause(err)
	}
	return nil
}

// deleteBucketReplication removes the configuration and its rules.
func (s *Server) deleteBucketReplication(rc *reqCtx) error {
	if err := s.store.DeleteBucketConfig(rc.ctx, rc.route.Bucket, meta.ConfigReplication); err != nil {
		return s.metaErr(rc, err)
	}
	s.rules.forget(rc.route.Bucket)
	if err := s.applyReplication(rc, nil); err != nil {
		return err
	}
	return rc.noBody(http.StatusNoContent)
}

// forgetReplication removes the rules of a bucket that was just deleted;
// a failure is only logged (the startup sync removes rules of buckets that
// no longer exist).
func (s *Server) forgetReplication(rc *reqCtx, had bool) {
	s.rules.forget(rc.route.Bucket)
	if !had || s.replicate == nil {
		return
	}
	if err := s.replicate(rc.ctx, rc.route.Bucket, nil); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("replication rules of a deleted bucket not removed", zap.String("bucket", rc.route.Bucket), zap.Error(err))
	}
}
