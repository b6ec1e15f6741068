package server

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

// Bucket configuration documents are parsed and validated by s3xml and
// stored re-marshalled (canonical XML with the S3 namespace), so a GET
// returns exactly what was accepted.

func (s *Server) putConfig(rc *reqCtx, kind string, doc any) error {
	b, err := s3xml.Marshal(doc)
	if err != nil {
		return s3err.Internal(err)
	}
	if err := s.store.PutBucketConfig(rc.ctx, rc.route.Bucket, kind, b); err != nil {
		return s.metaErr(rc, err)
	}
	return nil
}

// getConfig writes the stored document of kind, or returns notFound when
// there is none.
func (s *Server) getConfig(rc *reqCtx, kind string, notFound func() error) error {
	doc, err := s.store.GetBucketConfig(rc.ctx, rc.route.Bucket, kind)
	if errors.Is(err, meta.ErrNoSuchConfig) {
		return notFound()
	}
	if err != nil {
		return s.metaErr(rc, err)
	}
	h := rc.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	rc.w.WriteHeader(http.StatusOK)
	_, _ = rc.w.Write(doc)
	return nil
}

func (s *Server) deleteBucketConfig(kind string) handlerFunc {
	return func(rc *reqCtx) error {
		if err := s.store.DeleteBucketConfig(rc.ctx, rc.route.Bucket, kind); err != nil {
			return s.metaErr(rc, err)
		}
		return rc.noBody(http.StatusNoContent)
	}
}

func (s *Server) putBucketTagging(rc *reqCtx) error {
	t, err := s3xml.ParseBucketTagging(rc.r.Body)
	if err != nil {
		return err
	}
	if err := s.putConfig(rc, meta.ConfigTagging, t); err != nil {
		return err
	}
	return rc.noBody(http.StatusNoContent)
}

func (s *Server) getBucketTagging(rc *reqCtx) error {
	return s.getConfig(rc, meta.ConfigTagging, func() error {
		return s3err.New(s3err.NoSuchTagSet, "").WithBucket(rc.route.Bucket)
	})
}

func (s *Server) deleteBucketTagging(rc *reqCtx) error {
	return s.deleteBucketConfig(meta.ConfigTagging)(rc)
}

// putBucketNotification validates the configuration against the
// configured targets, stores it (an empty NotificationConfiguration removes
// it, as in AWS) and then makes its subscriptions effective (Notify).
func (s *Server) putBucketNotification(rc *reqCtx) error {
	n, err := s3xml.ParseNotificationConfiguration(rc.r.Body)
	if err != nil {
		return err
	}
	subs := n.Subscriptions(rc.route.Bucket)
	if err := s.validateSubscriptions(subs); err != nil {
		return err
	}
	if len(subs) == 0 && n.EventBridgeConfiguration == nil {
		if err := s.store.DeleteBucketConfig(rc.ctx, rc.route.Bucket, meta.ConfigNotification); err != nil {
			return s.metaErr(rc, err)
		}
	} else if err := s.putConfig(rc, meta.ConfigNotification, n); err != nil {
		return err
	}
	if err := s.applySubscriptions(rc, subs); err != nil {
		return err
	}
	return rc.noBody(http.StatusOK)
}

// deleteBucketNotification removes the configuration and its
// subscriptions.
func (s *Server) deleteBucketNotification(rc *reqCtx) error {
	if err := s.store.DeleteBucketConfig(rc.ctx, rc.route.Bucket, meta.ConfigNotification); err != nil {
		return s.metaErr(rc, err)
	}
	if err := s.applySubscriptions(rc, nil); err != nil {
		return err
	}
	return rc.noBody(http.StatusNoContent)
}

// validateSubscriptions checks a bucket's subscriptions against the
// configured targets as AWS checks destinations: a target that is not
// configured is InvalidArgument "Unable to validate the following
// destination configurations" naming the ARN; overlapping or otherwise
// invalid rules are InvalidArgument.
func (s *Server) validateSubscriptions(subs []deliver.Subscription) error {
	for _, sub := range subs {
		if _, err := s.events.Resolve(sub.TargetARN); err != nil {
			why := "The destination is not a configured Sluice target"
			if errors.Is(err, deliver.ErrInvalidARN) {
				why = "The ARN is not well formed"
			}
			return s3xml.UnknownDestination(sub.TargetARN, why).WithCause(err)
		}
	}
	if err := s.events.ValidateSubscriptions(subs); err != nil {
		if errors.Is(err, deliver.ErrInvalidARN) || errors.Is(err, deliver.ErrUnknownTarget) {
			return s3err.Wrap(s3err.InvalidArgument, err)
		}
		return s3err.New(s3err.InvalidArgument, clientFilterMessage(err)).WithCause(err)
	}
	return nil
}

// clientFilterMessage is the message of a rejected filter: the validation
// error without the package prefixes of its wrapped sentinels.
func clientFilterMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"deliver: invalid subscription: ", "filter: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return "Invalid notification filter: " + msg
}

// applySubscriptions hands the bucket's subscriptions to Notify after the
// metadata commit; a failure is 503 ServiceUnavailable (the request is
// idempotent and the stored configuration is re-applied at startup).
func (s *Server) applySubscriptions(rc *reqCtx, subs []deliver.Subscription) error {
	if s.notify == nil {
		return nil
	}
	if err := s.notify(rc.ctx, rc.route.Bucket, subs); err != nil {
		s.log.Warn("notification subscriptions not applied", zap.String("bucket", rc.route.Bucket), zap.Error(err))
		return s3err.New(s3err.ServiceUnavailable, "The notification configuration was stored but could not be applied yet; please retry.").WithCause(err)
	}
	return nil
}

// getBucketNotification answers an empty NotificationConfiguration when
// none is stored, as AWS does.
func (s *Server) getBucketNotification(rc *reqCtx) error {
	return s.getConfig(rc, meta.ConfigNotification, func() error {
		return rc.writeXML(http.StatusOK, s3xml.NotificationConfiguration{})
	})
}

// putBucketReplication stores a validated configuration and then makes its
// rules effective (Replicate). The bucket's versioning must be Enabled
// (InvalidRequest otherwise), as in AWS, and every destination must name a
// configured location (see ReplicationRules).
func (s *Server) putBucketReplication(rc *reqCtx) error {
	c, err := s3xml.ParseReplicationConfiguration(rc.r.Body)
	if err != nil {
		return err
	}
	if rc.bucket.Versioning != meta.VersioningEnabled {
		return s3err.New(s3err.InvalidRequest, "Versioning must be 'Enabled' on the bucket to apply a replication configuration")
	}
	rs, err := ReplicationRules(c, s.isLocation)
	if err != nil {
		return err
	}
	if err := s.putConfig(rc, meta.ConfigReplication, c); err != nil {
		return err
	}
	s.rules.forget(rc.route.Bucket)
	if err := s.applyReplication(rc, rs); err != nil {
		return err
	}
	return rc.noBody(http.StatusOK)
}

func (s *Server) getBucketReplication(rc *reqCtx) error {
	return s.getConfig(rc, meta.ConfigReplication, func() error {
		return s3err.New(s3err.ReplicationConfigurationNotFoundError, "").WithBucket(rc.route.Bucket)
	})
}

func (s *Server) putBucketLifecycle(rc *reqCtx) error {
	c, err := s3xml.ParseLifecycleConfiguration(rc.r.Body)
	if err != nil {
		return err
	}
	if err := s.putConfig(rc, meta.ConfigLifecycle, c); err != nil {
		return err
	}
	return rc.noBody(http.StatusOK)
}

func (s *Server) getBucketLifecycle(rc *reqCtx) error {
	return s.getConfig(rc, meta.ConfigLifecycle, func() error {
		return s3err.New(s3err.NoSuchLifecycleConfiguration, "").WithBucket(rc.route.Bucket)
	})
}

// accessControlPolicy is the minimal ACL document Sluice serves: the owner
// with FULL_CONTROL. (Local to the server until s3xml grows an ACL type.)
type accessControlPolicy struct {
	XMLName           xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner             s3xml.Owner `xml:"Owner"`
	AccessControlList []aclGrant  `xml:"AccessControlList>Grant"`
}

type aclGrant struct {
	Grantee    aclGrantee `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type aclGrantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	XSIType     string `xml:"xsi:type,attr"`
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

func ownerACL(owner string) accessControlPolicy {
	return accessControlPolicy{
		Owner: s3xml.Owner{ID: owner, DisplayName: owner},
		AccessControlList: []aclGrant{{
			Grantee: aclGrantee{
				XMLNSXSI: "http://www.w3.org/2001/XMLSchema-instance", XSIType: "CanonicalUser",
				ID: owner, DisplayName: owner,
			},
			Permission: "FULL_CONTROL",
		}},
	}
}

func (s *Server) getACL(rc *reqCtx) error {
	return rc.writeXML(http.StatusOK, ownerACL(rc.bucket.Owner))
}

// putACL accepts only what Sluice enforces anyway: the private canned ACL
// (or none, with a body that is not parsed). Other canned ACLs and grant
// headers are NotImplemented: Sluice has no ACLs, only bucket owners.
func (s *Server) putACL(rc *reqCtx) error {
	h := rc.r.Header
	if acl := h.Get("X-Amz-Acl"); acl != "" && acl != "private" && acl != "bucket-owner-full-control" {
		return s3err.New(s3err.NotImplemented, "Sluice supports only the private canned ACL.")
	}
	for _, g := range []string{"X-Amz-Grant-Read", "X-Amz-Grant-Write", "X-Amz-Grant-Read-Acp", "X-Amz-Grant-Write-Acp", "X-Amz-Grant-Full-Control"} {
		if h.Get(g) != "" {
			return s3err.New(s3err.NotImplemented, "Sluice supports only the private canned ACL.")
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(rc.r.Body, s3xml.MaxSmallBody))
	return rc.noBody(http.StatusOK)
}

func (s *Server) getObjectACL(rc *reqCtx) error {
	obj, err := s.lookupObject(rc)
	if err != nil {
		return err
	}
	if v := versionHeader(rc.bucket, obj.VersionID); v != "" {
		rc.w.Header().Set("x-amz-version-id", v)
	}
	owner := obj.Owner
	if owner == "" {
		owner = rc.bucket.Owner
	}
	return rc.writeXML(http.StatusOK, ownerACL(owner))
}

func (s *Server) putObjectACL(rc *reqCtx) error {
	if _, err := s.lookupObject(rc); err != nil {
		return err
	}
	return s.putACL(rc)
}
