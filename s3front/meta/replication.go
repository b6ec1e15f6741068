package meta

import (
	"time"

	"github.com/sluice-io/sluice/events"
)

// Replication status values, as S3 writes x-amz-replication-status.
const (
	// ReplicationPending: a replication rule selected the version and at least
	// one destination has no result yet (and none failed).
	ReplicationPending = "PENDING"
	// ReplicationCompleted: every destination holds the version.
	ReplicationCompleted = "COMPLETED"
	// ReplicationFailed: at least one destination failed.
	ReplicationFailed = "FAILED"
	// ReplicationReplica: the version was written by a replicator (it is a
	// copy, and is never replicated again).
	ReplicationReplica = "REPLICA"
)

// DestinationStatus is the replication state of one object version at one
// destination (a Sluice location name).
type DestinationStatus struct {
	// Status is ReplicationPending, ReplicationCompleted or ReplicationFailed.
	Status string
	// Sequencer is the sequencer of the replication result stored; "" for the
	// PENDING entry written with the version.
	Sequencer string
	// Time is when the replicator produced the result (stored with µs
	// precision); zero for the PENDING entry written with the version.
	Time time.Time
	// Error describes the failure of a FAILED result.
	Error string
}

// Supersedes reports whether the replication result r replaces cur, the result
// stored for the same version and destination. This is the apply rule of
// replication results (events/replication/status): the higher sequencer
// (events.CompareSequencers) wins; of equal sequencers the later Time wins, so a
// retried FAILED becomes COMPLETED; of equal times COMPLETED beats FAILED beats
// PENDING, then the larger Error, so that any order of the same results ends in
// the same state. A result equal to cur does not supersede it (applying a
// result twice changes nothing).
func (r DestinationStatus) Supersedes(cur DestinationStatus) bool {
	if c := events.CompareSequencers(r.Sequencer, cur.Sequencer); c != 0 {
		return c > 0
	}
	if !r.Time.Equal(cur.Time) {
		return r.Time.After(cur.Time)
	}
	if rr, cr := statusRank(r.Status), statusRank(cur.Status); rr != cr {
		return rr > cr
	}
	return r.Error > cur.Error
}

func statusRank(s string) int {
	switch s {
	case ReplicationCompleted:
		return 3
	case ReplicationFailed:
		return 2
	case ReplicationPending:
		return 1
	}
	return 0
}

// ValidDestinationStatus reports whether s is a status a destination can have:
// ReplicationPending, ReplicationCompleted or ReplicationFailed.
func ValidDestinationStatus(s string) bool { return statusRank(s) > 0 }

// OverallReplicationStatus returns the x-amz-replication-status of a version
// whose destinations are dests: "" when there are none, ReplicationFailed if
// any destination failed, ReplicationCompleted when all completed, and
// ReplicationPending otherwise.
func OverallReplicationStatus(dests map[string]DestinationStatus) string {
	if len(dests) == 0 {
		return ""
	}
	completed := 0
	for _, d := range dests {
		switch d.Status {
		case ReplicationFailed:
			return ReplicationFailed
		case ReplicationCompleted:
			completed++
		}
	}
	if completed == len(dests) {
		return ReplicationCompleted
	}
	return ReplicationPending
}

// ReplicationUpdate is one replication result to apply to an object version:
// the outcome of copying (or deleting) Bucket/Key at VersionID to Destination.
type ReplicationUpdate struct {
	Bucket string
	Key    string
	// VersionID names the version; "" means NullVersion.
	VersionID string
	// Destination is the location name the result is for.
	Destination string
	// Result is the destination's new state if it supersedes the stored one.
	// Its Status must be ReplicationCompleted, ReplicationFailed or
	// ReplicationPending.
	Result DestinationStatus
}

// ReplicationOutcome says what ApplyReplication did with one update.
type ReplicationOutcome string

// Outcomes of ApplyReplication, one per update.
const (
	// ReplicationApplied: the result superseded the stored one (or the
	// destination was new to the version) and is now stored.
	ReplicationApplied ReplicationOutcome = "applied"
	// ReplicationStale: the stored result is newer or equal (a duplicate or a
	// reordered result), or the version is a REPLICA; nothing changed.
	ReplicationStale ReplicationOutcome = "stale"
	// ReplicationNoVersion: the version does not exist (any more); nothing
	// changed.
	ReplicationNoVersion ReplicationOutcome = "no-version"
	// ReplicationInvalid: the update cannot apply to anything: an empty or
	// non-text bucket, key or destination, or an unknown status.
	ReplicationInvalid ReplicationOutcome = "invalid"
)

// ReplicationInfo is the replication state of one object version.
type ReplicationInfo struct {
	Bucket         string
	Key            string
	VersionID      string
	IsDeleteMarker bool
	// Status is the version's x-amz-replication-status ("" when no rule
	// selected it).
	Status string
	// Destinations holds the state per destination location; nil when none.
	Destinations map[string]DestinationStatus
}
