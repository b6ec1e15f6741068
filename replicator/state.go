package replicator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/events/replication/status"
)

// StateBucket is the JetStream key-value bucket holding the replicator's
// own state: one checkpoint per (destination, bucket, key) and the paused
// flag of each destination.
const StateBucket = "SLUICE_REPLICATION_STATE"

// Replication status values, as in x-amz-replication-status.
const (
	StatusCompleted = status.Completed
	StatusFailed    = status.Failed
)

// Checkpoint is what the replicator last made a destination hold for one
// source key.
type Checkpoint struct {
	Destination string `json:"destination"`
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	// Sequencer is the highest event sequencer applied.
	Sequencer string `json:"sequencer,omitempty"`
	// VersionID of the source version copied ("" after a delete).
	VersionID string `json:"versionId,omitempty"`
	// Fingerprint of the source state copied (version, ETag, size,
	// content type, metadata, tags); "deleted" after a delete, "kept"
	// when a delete marker was not replicated.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Status is COMPLETED or FAILED.
	Status string `json:"status"`
	// Error of the last FAILED attempt.
	Error string `json:"error,omitempty"`
	// Time of the last change.
	Time time.Time `json:"time"`
}

// state is the checkpoint and control store.
type state struct {
	kv jetstream.KeyValue
}

func openState(ctx context.Context, js jetstream.JetStream, replicas int) (*state, error) {
	if replicas <= 0 {
		replicas = 1
	}
	kv, err := js.KeyValue(ctx, StateBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: StateBucket, Description: "Sluice replication checkpoints and destination controls",
			History: 1, Replicas: replicas, Storage: jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, StateBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("replicator: open %s: %w", StateBucket, err)
	}
	return &state{kv: kv}, nil
}

// checkpointKey is "ckpt.<destination>.<bucket key>.<sha256(key)>": object
// keys may be any bytes and up to 1 KiB, so they are hashed; the value
// holds the key itself.
func checkpointKey(dest, bucket, key string) (string, error) {
	bk, err := rules.KeyFor(bucket)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(key))
	return "ckpt." + dest + "." + bk + "." + hex.EncodeToString(sum[:20]), nil
}

func pausedKey(dest string) string { return "paused." + dest }

// get returns the checkpoint and its revision (0 when there is none).
func (s *state) get(ctx context.Context, dest, bucket, key string) (Checkpoint, uint64, error) {
	k, err := checkpointKey(dest, bucket, key)
	if err != nil {
		return Checkpoint{}, 0, err
	}
	e, err := s.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Checkpoint{}, 0, nil
	}
	if err != nil {
		return Checkpoint{}, 0, fmt.Errorf("replicator: checkpoint get: %w", err)
	}
	var c Checkpoint
	if err := json.Unmarshal(e.Value(), &c); err != nil {
		// A corrupt checkpoint only costs a copy: start over.
		return Checkpoint{}, e.Revision(), nil
	}
	return c, e.Revision(), nil
}

// errConflict means another replica changed the checkpoint meanwhile.
var errConflict = errors.New("replicator: checkpoint changed concurrently")

// put writes c if the checkpoint is still at rev (0: must not exist). It
// returns errConflict when it is not.
func (s *state) put(ctx context.Context, c Checkpoint, rev uint64) error {
	k, err := checkpointKey(c.Destination, c.Bucket, c.Key)
	if err != nil {
		return err
	}
	val, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("replicator: checkpoint encode: %w", err)
	}
	if rev == 0 {
		_, err = s.kv.Create(ctx, k, val)
	} else {
		_, err = s.kv.Update(ctx, k, val, rev)
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongSeq(err) {
			return errConflict
		}
		return fmt.Errorf("replicator: checkpoint put: %w", err)
	}
	return nil
}

func isWrongSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// list calls fn for every checkpoint of dest (all destinations when ""),
// optionally only those of bucket.
func (s *state) list(ctx context.Context, dest, bucket string, fn func(Checkpoint) error) error {
	filter := "ckpt.>"
	switch {
	case dest != "" && bucket != "":
		bk, err := rules.KeyFor(bucket)
		if err != nil {
			return err
		}
		filter = "ckpt." + dest + "." + bk + ".*"
	case dest != "":
		filter = "ckpt." + dest + ".>"
	case bucket != "":
		bk, err := rules.KeyFor(bucket)
		if err != nil {
			return err
		}
		filter = "ckpt.*." + bk + ".*"
	}
	w, err := s.kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("replicator: checkpoint list: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				return nil
			}
			var c Checkpoint
			if json.Unmarshal(e.Value(), &c) != nil {
				continue
			}
			if err := fn(c); err != nil {
				return err
			}
		}
	}
}

// setPaused records whether dest is paused.
func (s *state) setPaused(ctx context.Context, dest string, paused bool) error {
	v := "false"
	if paused {
		v = "true"
	}
	if _, err := s.kv.Put(ctx, pausedKey(dest), []byte(v)); err != nil {
		return fmt.Errorf("replicator: set paused %s: %w", dest, err)
	}
	return nil
}

// paused reports whether dest is paused.
func (s *state) paused(ctx context.Context, dest string) (bool, error) {
	e, err := s.kv.Get(ctx, pausedKey(dest))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("replicator: paused %s: %w", dest, err)
	}
	return strings.TrimSpace(string(e.Value())) == "true", nil
}

// watchPaused sends dest's paused flag: first its current value, then on
// every change. The channel closes when ctx ends or the watch fails.
func (s *state) watchPaused(ctx context.Context, dest string) (<-chan bool, error) {
	w, err := s.kv.Watch(ctx, pausedKey(dest))
	if err != nil {
		return nil, fmt.Errorf("replicator: watch paused %s: %w", dest, err)
	}
	out := make(chan bool, 1)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		cur, loaded := false, false
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					loaded = true
				} else {
					cur = e.Operation() == jetstream.KeyValuePut && strings.TrimSpace(string(e.Value())) == "true"
				}
				if !loaded {
					continue
				}
				select {
				case <-out:
				default:
				}
				out <- cur
			}
		}
	}()
	return out, nil
}
