package server

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/subject"
	"github.com/sluice-io/sluice/s3front/meta"
)

// eventFor returns the meta.EventFunc of one request: it turns the store's
// Change into one CloudEvent, in NATS binary mode, as an outbox message.
// created is the event name for ChangeCreated (Put, Copy, Post,
// CompleteMultipartUpload); the other kinds have fixed names.
func (s *Server) eventFor(rc *reqCtx, created events.EventName) meta.EventFunc {
	return func(_ context.Context, ch meta.Change) ([]meta.OutboxMsg, error) {
		var name events.EventName
		switch ch.Kind {
		case meta.ChangeCreated:
			name = created
		case meta.ChangeDeleted:
			name = events.ObjectRemovedDelete
		case meta.ChangeDeleteMarkerCreated:
			name = events.ObjectRemovedDeleteMarkerCreated
		case meta.ChangeTagsPut:
			name = events.ObjectTaggingPut
		case meta.ChangeTagsDeleted:
			name = events.ObjectTaggingDelete
		default:
			return nil, nil
		}
		msg, err := s.buildEvent(rc, name, ch.Object)
		if err != nil {
			return nil, err
		}
		return []meta.OutboxMsg{msg}, nil
	}
}

// buildEvent builds the outbox message for one event about obj.
func (s *Server) buildEvent(rc *reqCtx, name events.EventName, obj meta.Object) (meta.OutboxMsg, error) {
	rec := events.Record{
		EventVersion:      events.DefaultEventVersion,
		EventSource:       events.DefaultEventSource,
		AWSRegion:         s.region,
		EventTime:         s.now().UTC(),
		EventName:         name,
		UserIdentity:      events.UserIdentity{PrincipalID: rc.principal},
		RequestParameters: events.RequestParameters{SourceIPAddress: rc.sourceIP()},
		ResponseElements:  events.ResponseElements{RequestID: rc.requestID, HostID: rc.hostID},
		S3: events.S3Entity{
			SchemaVersion:   events.DefaultS3SchemaVersion,
			ConfigurationID: "sluice",
			Bucket: events.BucketEntity{
				Name:          obj.Bucket,
				OwnerIdentity: events.UserIdentity{PrincipalID: rc.bucket.Owner},
				ARN:           "arn:aws:s3:::" + obj.Bucket,
			},
			Object: events.ObjectEntity{
				Sequencer: obj.Sequencer,
			},
		},
		Sluice: &events.SluiceData{
			Location:          obj.Location,
			ContentType:       obj.ContentType,
			UserMetadata:      obj.UserMetadata,
			Tags:              obj.Tags,
			ReplicationStatus: obj.ReplicationStatus,
			Replication:       obj.Replication,
		},
	}
	if rc.isReplica() {
		// Whatever a replicator's request changed is a replica's change:
		// the replicator skips it (no replication loops).
		rec.Sluice.ReplicationStatus = meta.ReplicationReplica
	}
	rec.SetObjectKey(obj.Key)
	if !obj.IsDeleteMarker && name.Category() != events.CategoryObjectRemoved {
		rec.S3.Object.Size = obj.Size
		rec.S3.Object.ETag = obj.ETag
	}
	if obj.VersionID != "" && obj.VersionID != meta.NullVersion {
		rec.S3.Object.VersionID = obj.VersionID
	}
	id := uuid.NewString()
	ev, err := events.ToCloudEvent(id, rec)
	if err != nil {
		return meta.OutboxMsg{}, fmt.Errorf("build event: %w", err)
	}
	subj, err := subject.ForEvent(obj.Bucket, string(name))
	if err != nil {
		return meta.OutboxMsg{}, fmt.Errorf("event subject: %w", err)
	}
	m, err := events.NewNATSMsg(subj, ev)
	if err != nil {
		return meta.OutboxMsg{}, fmt.Errorf("build event message: %w", err)
	}
	return meta.OutboxMsg{ID: id, Subject: m.Subject, Headers: m.Header, Body: m.Data}, nil
}
