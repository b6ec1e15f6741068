// Package rules holds a bucket's replication rules as the replicator reads
// them: the types, their JSON codec, the match of an object against a rule,
// and a Store over the JetStream key-value bucket SLUICE_REPLICATION that
// s3front writes (after PutBucketReplication) and every replicator watches.
//
// s3front parses the AWS ReplicationConfiguration XML itself and maps it to
// these plain Go values: ID, Priority, Status, Filter{Prefix, Tags},
// Destination{Location, Prefix}, DeleteMarkerReplication and
// ExistingObjectReplication. A destination is a Sluice location name (the
// StorageClass of the AWS XML, or a bucket ARN s3front maps to a location).
package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Rule status values, as in the AWS XML.
const (
	Enabled  = "Enabled"
	Disabled = "Disabled"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrInvalidRule: a rule or rule set is malformed (see Rule.Validate).
	ErrInvalidRule = errors.New("rules: invalid replication rule")
	// ErrInvalidBucket: a bucket name is empty or not valid UTF-8.
	ErrInvalidBucket = errors.New("rules: invalid bucket name")
	// ErrNotFound: the bucket has no replication configuration.
	ErrNotFound = errors.New("rules: no replication configuration")
)

// Filter selects the objects a rule applies to: keys starting with Prefix
// and carrying every tag in Tags (AWS Filter with Prefix, Tag or And).
type Filter struct {
	// Prefix the key must start with; empty matches every key.
	Prefix string `json:"prefix,omitempty"`
	// Tags the object must carry, each with exactly this value.
	Tags map[string]string `json:"tags,omitempty"`
}

// Destination is where a rule replicates to.
type Destination struct {
	// Location is the Sluice location name (required). A location names one
	// remote bucket or container: a different remote bucket is a different
	// location.
	Location string `json:"location"`
	// Prefix is prepended to the key on the destination; empty keeps keys.
	Prefix string `json:"prefix,omitempty"`
}

// Rule is one replication rule of a bucket.
type Rule struct {
	// ID names the rule; unique within the bucket (may be empty, as in AWS).
	ID string `json:"id,omitempty"`
	// Priority orders overlapping rules to one destination: the highest
	// wins.
	Priority int `json:"priority"`
	// Status is Enabled or Disabled.
	Status string `json:"status"`
	// Filter selects the objects.
	Filter Filter `json:"filter"`
	// Destination is where objects go.
	Destination Destination `json:"destination"`
	// DeleteMarkerReplication, when true, deletes the replica when the
	// source's current version becomes a delete marker. Deletes of objects
	// that are gone entirely (unversioned deletes) always replicate.
	DeleteMarkerReplication bool `json:"deleteMarkerReplication,omitempty"`
	// ExistingObjectReplication, when true, makes the replicator copy the
	// objects that existed before the rule (once per bucket and
	// destination, when the option first appears).
	ExistingObjectReplication bool `json:"existingObjectReplication,omitempty"`
}

// Validate checks the rule: Status Enabled or Disabled, a destination
// location that can name a consumer (no '.', '*', '>', white space, '/' or
// '\'), tag keys non-empty. It returns an error wrapping ErrInvalidRule.
func (r Rule) Validate() error {
	if r.Status != Enabled && r.Status != Disabled {
		return fmt.Errorf("%w: rule %q: status %q is neither Enabled nor Disabled", ErrInvalidRule, r.ID, r.Status)
	}
	if err := ValidLocationName(r.Destination.Location); err != nil {
		return fmt.Errorf("%w: rule %q: %w", ErrInvalidRule, r.ID, err)
	}
	for k := range r.Filter.Tags {
		if k == "" {
			return fmt.Errorf("%w: rule %q: empty tag key in filter", ErrInvalidRule, r.ID)
		}
	}
	return nil
}

// ValidLocationName reports (as an error wrapping ErrInvalidRule) whether
// name cannot be a destination: empty, longer than 200 bytes, or holding a
// byte that a NATS durable name cannot ('.', '*', '>', '/', '\', white space
// or control bytes).
func ValidLocationName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty destination location", ErrInvalidRule)
	}
	if len(name) > 200 {
		return fmt.Errorf("%w: destination location longer than 200 bytes", ErrInvalidRule)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(".*>/\\", c) >= 0 {
			return fmt.Errorf("%w: destination location %q contains %q", ErrInvalidRule, name, c)
		}
	}
	return nil
}

// Object is what Match looks at.
type Object struct {
	Key  string
	Tags map[string]string
}

// Match reports whether the rule is enabled and its filter selects o.
func (r Rule) Match(o Object) bool {
	if r.Status != Enabled || !strings.HasPrefix(o.Key, r.Filter.Prefix) {
		return false
	}
	for k, v := range r.Filter.Tags {
		if got, ok := o.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// NeedsTags reports whether the rule's filter reads tags.
func (r Rule) NeedsTags() bool { return len(r.Filter.Tags) > 0 }

// ReplicatesDeleteMarkers reports whether a delete marker under the rule is
// replicated (the replica is deleted): DeleteMarkerReplication is on and, as
// in AWS, the filter does not read tags.
func (r Rule) ReplicatesDeleteMarkers() bool { return r.DeleteMarkerReplication && !r.NeedsTags() }

// Config is the replication configuration of one bucket.
type Config struct {
	// Bucket is the source bucket.
	Bucket string `json:"bucket"`
	// Rules in any order.
	Rules []Rule `json:"rules"`
}

// Validate checks the bucket name and every rule, and that IDs are unique.
// It returns an error wrapping ErrInvalidBucket or ErrInvalidRule.
func (c Config) Validate() error {
	if c.Bucket == "" {
		return ErrInvalidBucket
	}
	ids := map[string]bool{}
	for _, r := range c.Rules {
		if err := r.Validate(); err != nil {
			return err
		}
		if r.ID != "" {
			if ids[r.ID] {
				return fmt.Errorf("%w: duplicate rule id %q", ErrInvalidRule, r.ID)
			}
			ids[r.ID] = true
		}
	}
	return nil
}

// Destinations returns the distinct locations of the enabled rules, sorted.
func (c Config) Destinations() []string {
	var out []string
	for _, r := range c.Rules {
		if r.Status == Enabled && !slices.Contains(out, r.Destination.Location) {
			out = append(out, r.Destination.Location)
		}
	}
	slices.Sort(out)
	return out
}

// For returns the rule that governs object o for destination location: the
// enabled matching rule with the highest priority (ties go to the first in
// order), and false when none matches.
func (c Config) For(location string, o Object) (Rule, bool) {
	return c.best(location, func(r Rule) bool { return r.Match(o) })
}

// ForKey returns the enabled rule of highest priority to location whose
// prefix matches key, whatever its tag filter: the rule that governs a key
// whose object is gone (deleted, or hidden by a delete marker), which has no
// tags to match. See Rule.ReplicatesDeleteMarkers.
func (c Config) ForKey(location, key string) (Rule, bool) {
	return c.best(location, func(r Rule) bool {
		return r.Status == Enabled && strings.HasPrefix(key, r.Filter.Prefix)
	})
}

// best returns the rule of highest priority to location that match selects.
func (c Config) best(location string, match func(Rule) bool) (Rule, bool) {
	var best Rule
	found := false
	for _, r := range c.Rules {
		if r.Destination.Location != location || !match(r) {
			continue
		}
		if !found || r.Priority > best.Priority {
			best, found = r, true
		}
	}
	return best, found
}

// NeedsTags reports whether any enabled rule to location filters on tags.
func (c Config) NeedsTags(location string) bool {
	for _, r := range c.Rules {
		if r.Status == Enabled && r.Destination.Location == location && r.NeedsTags() {
			return true
		}
	}
	return false
}

// Targets reports whether any enabled rule targets location.
func (c Config) Targets(location string) bool {
	for _, r := range c.Rules {
		if r.Status == Enabled && r.Destination.Location == location {
			return true
		}
	}
	return false
}

// Encode returns the JSON form of c after validating it. It returns an
// error wrapping ErrInvalidBucket or ErrInvalidRule.
func Encode(c Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Rules == nil {
		c.Rules = []Rule{}
	}
	return json.Marshal(c)
}

// Decode parses and validates the JSON form of a Config. It never panics;
// it returns an error wrapping ErrInvalidRule (bad JSON, bad rule) or
// ErrInvalidBucket.
func Decode(b []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidRule, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
