package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketName is the JetStream key-value bucket holding replication rules:
// one key per source bucket (KeyFor), the value is Encode(Config).
const BucketName = "SLUICE_REPLICATION"

const upperHex = "0123456789ABCDEF"

// KeyFor returns the key-value key of a bucket name: bytes in
// [A-Za-z0-9_-] as they are, every other byte (dots included) as "=XX" with
// upper-case hex. It is canonical and reversible (KeyToBucket) and always a
// single valid key token. (events/subject.EncodeToken writes '%', which
// JetStream key-value keys do not accept; this is the same mapping with '='.)
// It returns ErrInvalidBucket for "".
func KeyFor(bucket string) (string, error) {
	if bucket == "" {
		return "", ErrInvalidBucket
	}
	var b strings.Builder
	for i := 0; i < len(bucket); i++ {
		c := bucket[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String(), nil
}

// KeyToBucket reverses KeyFor. It returns ErrInvalidBucket for a key that
// KeyFor cannot have produced.
func KeyToBucket(key string) (string, error) {
	if key == "" {
		return "", ErrInvalidBucket
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c != '=' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(key) {
			return "", fmt.Errorf("%w: truncated escape in %q", ErrInvalidBucket, key)
		}
		hi, lo := strings.IndexByte(upperHex, key[i+1]), strings.IndexByte(upperHex, key[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("%w: bad escape in %q", ErrInvalidBucket, key)
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	out := b.String()
	if k, _ := KeyFor(out); k != key {
		return "", fmt.Errorf("%w: %q is not canonical", ErrInvalidBucket, key)
	}
	return out, nil
}

// Store reads and writes replication rules in the key-value bucket
// BucketName. It is safe for concurrent use.
type Store struct {
	kv jetstream.KeyValue
}

// OpenStore opens (creating it when missing) the rules bucket with the
// given replica count (0 means 1). It returns the server's error wrapped.
func OpenStore(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	kv, err := openKV(ctx, js, BucketName, "Sluice replication rules per bucket", replicas)
	if err != nil {
		return nil, err
	}
	return &Store{kv: kv}, nil
}

func openKV(ctx context.Context, js jetstream.JetStream, name, desc string, replicas int) (jetstream.KeyValue, error) {
	if replicas <= 0 {
		replicas = 1
	}
	kv, err := js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: name, Description: desc, History: 1, Replicas: replicas, Storage: jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("rules: open key-value bucket %s: %w", name, err)
	}
	return kv, nil
}

// Put stores the rules of bucket, replacing any earlier ones; it is what
// s3front calls after PutBucketReplication succeeds (with the rules mapped
// from the XML). An empty rule list deletes the configuration. It returns
// an error wrapping ErrInvalidBucket or ErrInvalidRule before writing, or
// the server's error wrapped.
func (s *Store) Put(ctx context.Context, bucket string, rs []Rule) error {
	if len(rs) == 0 {
		return s.Delete(ctx, bucket)
	}
	key, err := KeyFor(bucket)
	if err != nil {
		return err
	}
	val, err := Encode(Config{Bucket: bucket, Rules: rs})
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, key, val); err != nil {
		return fmt.Errorf("rules: put %s: %w", bucket, err)
	}
	return nil
}

// Get returns the configuration of bucket, or an error wrapping ErrNotFound
// when there is none (ErrInvalidBucket for ""; ErrInvalidRule when the
// stored value is corrupt).
func (s *Store) Get(ctx context.Context, bucket string) (Config, error) {
	key, err := KeyFor(bucket)
	if err != nil {
		return Config{}, err
	}
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Config{}, fmt.Errorf("%w: bucket %s", ErrNotFound, bucket)
	}
	if err != nil {
		return Config{}, fmt.Errorf("rules: get %s: %w", bucket, err)
	}
	return Decode(e.Value())
}

// Delete removes the configuration of bucket (DeleteBucketReplication);
// deleting a missing one succeeds.
func (s *Store) Delete(ctx context.Context, bucket string) error {
	key, err := KeyFor(bucket)
	if err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("rules: delete %s: %w", bucket, err)
	}
	return nil
}

// Sync makes the key-value bucket hold exactly all: every bucket in all is
// Put (a bucket with no rules is deleted), and every stored bucket missing
// from all is deleted. s3front calls it at startup so that the rules follow
// its metadata even after a Put or Delete failed. Keys that are not bucket
// keys are left alone. It returns an error wrapping ErrInvalidBucket or
// ErrInvalidRule before writing anything, or the server's error wrapped.
func (s *Store) Sync(ctx context.Context, all map[string][]Rule) error {
	for bucket, rs := range all {
		if len(rs) == 0 {
			continue
		}
		if err := (Config{Bucket: bucket, Rules: rs}).Validate(); err != nil {
			return err
		}
	}
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("rules: list keys: %w", err)
	}
	var stale []string
	for key := range lister.Keys() {
		bucket, err := KeyToBucket(key)
		if err != nil {
			continue
		}
		if len(all[bucket]) == 0 {
			stale = append(stale, bucket)
		}
	}
	_ = lister.Stop()
	for _, bucket := range stale {
		if err := s.Delete(ctx, bucket); err != nil {
			return err
		}
	}
	for bucket, rs := range all {
		if err := s.Put(ctx, bucket, rs); err != nil {
			return err
		}
	}
	return nil
}

// Snapshot is every bucket's configuration at one moment, by bucket name.
// Treat it as read-only.
type Snapshot map[string]Config

// Watch sends a Snapshot of all configurations: first once the current
// values are loaded, then after every change. A slow receiver only misses
// intermediate snapshots, never the latest. Corrupt values are skipped
// (reported to onBad when it is not nil). The channel closes when ctx ends
// or the watch fails.
func (s *Store) Watch(ctx context.Context, onBad func(key string, err error)) (<-chan Snapshot, error) {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("rules: watch: %w", err)
	}
	out := make(chan Snapshot, 1)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		state := map[string]Config{}
		loaded := false
		for {
			var e jetstream.KeyValueEntry
			var ok bool
			select {
			case <-ctx.Done():
				return
			case e, ok = <-w.Updates():
				if !ok {
					return
				}
			}
			if e == nil {
				loaded = true
			} else {
				bucket, berr := KeyToBucket(e.Key())
				switch {
				case berr != nil:
					if onBad != nil {
						onBad(e.Key(), berr)
					}
				case e.Operation() == jetstream.KeyValuePut:
					c, derr := Decode(e.Value())
					if derr != nil {
						if onBad != nil {
							onBad(e.Key(), derr)
						}
						delete(state, bucket)
					} else {
						state[bucket] = c
					}
				default:
					delete(state, bucket)
				}
			}
			if !loaded {
				continue
			}
			snap := make(Snapshot, len(state))
			for k, v := range state {
				snap[k] = v
			}
			select {
			case <-out:
			default:
			}
			out <- snap
		}
	}()
	return out, nil
}
