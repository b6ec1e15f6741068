package s3front

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/services/health"
)

// ReplicationStatusPath is the admin route answering the replication state
// of one object version:
//
//	GET /admin/s3/replication-status?bucket=B&key=K[&versionId=V]
//
// The answer is a ReplicationStatusReply (the latest version, delete markers
// included, when versionId is absent). Errors are {"error": "..."}: 400
// without bucket or key, 404 when the bucket, key or version does not exist,
// 503 while the service is not serving, 500 otherwise.
const ReplicationStatusPath = "/admin/s3/replication-status"

// ReplicationStatusReply is the JSON answer of ReplicationStatusPath.
type ReplicationStatusReply struct {
	Bucket       string `json:"bucket"`
	Key          string `json:"key"`
	VersionID    string `json:"versionId"`
	DeleteMarker bool   `json:"deleteMarker,omitempty"`
	// Status is the version's x-amz-replication-status: "" (no rule
	// selected it), PENDING, COMPLETED, FAILED or REPLICA.
	Status string `json:"status"`
	// Destinations holds the state per destination location (never null).
	Destinations map[string]DestinationReply `json:"destinations"`
}

// DestinationReply is the replication state of a version at one destination.
type DestinationReply struct {
	// Status is PENDING, COMPLETED or FAILED.
	Status string `json:"status"`
	// Error describes the failure of a FAILED destination.
	Error string `json:"error,omitempty"`
	// Time is when the replicator produced the result; absent while the
	// destination is PENDING from the write.
	Time *time.Time `json:"time,omitempty"`
	// Sequencer is the sequencer of the result stored.
	Sequencer string `json:"sequencer,omitempty"`
}

// Mount mounts the s3front admin routes (ReplicationStatusPath) on a, the
// process's /admin/ mux; New calls it when Settings.Admin is set. It returns
// an error wrapping health.ErrBadRoute when a route conflicts.
func (s *Service) Mount(a health.Admin) error {
	if err := a.Handle("GET "+ReplicationStatusPath, http.HandlerFunc(s.replicationStatus)); err != nil {
		return fmt.Errorf("s3front: mount %s: %w", ReplicationStatusPath, err)
	}
	return nil
}

// replicationStatus serves ReplicationStatusPath.
func (s *Service) replicationStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bucket, key := q.Get("bucket"), q.Get("key")
	if bucket == "" || key == "" {
		writeAdminJSON(w, http.StatusBadRequest, adminError{"bucket and key are required"})
		return
	}
	store := s.Store()
	if store == nil {
		writeAdminJSON(w, http.StatusServiceUnavailable, adminError{ErrNotStarted.Error()})
		return
	}
	info, err := store.GetReplication(r.Context(), bucket, key, q.Get("versionId"))
	switch {
	case errors.Is(err, meta.ErrNoSuchBucket):
		writeAdminJSON(w, http.StatusNotFound, adminError{"no such bucket"})
		return
	case errors.Is(err, meta.ErrNoSuchKey):
		writeAdminJSON(w, http.StatusNotFound, adminError{"no such key"})
		return
	case errors.Is(err, meta.ErrNoSuchVersion):
		writeAdminJSON(w, http.StatusNotFound, adminError{"no such version"})
		return
	case err != nil:
		s.log.Warn("replication status lookup failed", zap.Error(err))
		writeAdminJSON(w, http.StatusInternalServerError, adminError{"internal error"})
		return
	}
	out := ReplicationStatusReply{
		Bucket: info.Bucket, Key: info.Key, VersionID: info.VersionID, DeleteMarker: info.IsDeleteMarker,
		Status: info.Status, Destinations: make(map[string]DestinationReply, len(info.Destinations)),
	}
	for name, d := range info.Destinations {
		dr := DestinationReply{Status: d.Status, Error: d.Error, Sequencer: d.Sequencer}
		if !d.Time.IsZero() {
			t := d.Time.UTC()
			dr.Time = &t
		}
		out.Destinations[name] = dr
	}
	writeAdminJSON(w, http.StatusOK, out)
}

type adminError struct {
	Error string `json:"error"`
}

func writeAdminJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
