package server

import (
	"testing"
	"time"

	"github.com/sluice-io/sluice/events/replication/rules"
)

func TestRulesCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := rules.Config{Bucket: "b", Rules: []rules.Rule{{Status: rules.Enabled, Destination: rules.Destination{Location: "x"}}}}
	c := newRulesCache(10 * time.Second)
	tests := []struct {
		name string
		do   func()
		at   time.Duration
		hit  bool
	}{
		{"empty", func() {}, 0, false},
		{"cached", func() { _, _, gen := c.get("b", now); c.put("b", cfg, now, gen) }, time.Second, true},
		{"fresh until the TTL", func() {}, 9 * time.Second, true},
		{"expired", func() {}, 10 * time.Second, false},
		{"a clock going back is not trusted", func() {}, -time.Second, false},
		{"forget drops it", func() {
			_, _, gen := c.get("b", now)
			c.put("b", cfg, now, gen)
			c.forget("b")
		}, 0, false},
		{"a load that raced with forget is not cached", func() {
			_, _, gen := c.get("b", now)
			c.forget("b") // the configuration changed while the load read the old one
			c.put("b", cfg, now, gen)
		}, 0, false},
	}
	for _, tc := range tests {
		tc.do()
		got, hit, _ := c.get("b", now.Add(tc.at))
		if hit != tc.hit || (hit && len(got.Rules) != 1) {
			t.Errorf("%s: hit %v %+v, want %v", tc.name, hit, got, tc.hit)
		}
	}
	if d := newRulesCache(0); d.ttl != DefaultRulesCacheTTL {
		t.Errorf("default TTL %v", d.ttl)
	}
}
