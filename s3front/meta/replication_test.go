package meta_test

import (
	"testing"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

var tb = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func res(status, seq string, sec int, errMsg string) meta.DestinationStatus {
	d := meta.DestinationStatus{Status: status, Sequencer: seq, Error: errMsg}
	if sec >= 0 {
		d.Time = tb.Add(time.Duration(sec) * time.Second)
	}
	return d
}

// applyAll folds results with the apply rule, as the store does for one
// destination.
func applyAll(start meta.DestinationStatus, rs ...meta.DestinationStatus) meta.DestinationStatus {
	cur := start
	for _, r := range rs {
		if r.Supersedes(cur) {
			cur = r
		}
	}
	return cur
}

var pendingAtWrite = res(meta.ReplicationPending, "", -1, "")

func TestApplyRule(t *testing.T) {
	const s1, s2 = "0000000000000010", "0000000000000020"
	tests := []struct {
		name    string
		results []meta.DestinationStatus
		want    meta.DestinationStatus
	}{
		{"first result replaces PENDING", []meta.DestinationStatus{res("COMPLETED", s1, 1, "")}, res("COMPLETED", s1, 1, "")},
		{"a result without a sequencer still replaces PENDING", []meta.DestinationStatus{res("FAILED", "", 1, "x")}, res("FAILED", "", 1, "x")},
		{"in order", []meta.DestinationStatus{res("COMPLETED", s1, 1, ""), res("COMPLETED", s2, 2, "")}, res("COMPLETED", s2, 2, "")},
		{"reordered: the older sequencer is stale", []meta.DestinationStatus{res("FAILED", s2, 1, "later"), res("COMPLETED", s1, 9, "")}, res("FAILED", s2, 1, "later")},
		{"duplicate", []meta.DestinationStatus{res("COMPLETED", s1, 1, ""), res("COMPLETED", s1, 1, "")}, res("COMPLETED", s1, 1, "")},
		{"FAILED then retried COMPLETED", []meta.DestinationStatus{res("FAILED", s1, 1, "down"), res("COMPLETED", s1, 2, "")}, res("COMPLETED", s1, 2, "")},
		{"retried COMPLETED arrives before the FAILED", []meta.DestinationStatus{res("COMPLETED", s1, 2, ""), res("FAILED", s1, 1, "down")}, res("COMPLETED", s1, 2, "")},
		{"same sequencer and time: COMPLETED wins", []meta.DestinationStatus{res("COMPLETED", s1, 1, ""), res("FAILED", s1, 1, "x")}, res("COMPLETED", s1, 1, "")},
		{"same sequencer and time, FAILED first", []meta.DestinationStatus{res("FAILED", s1, 1, "x"), res("COMPLETED", s1, 1, "")}, res("COMPLETED", s1, 1, "")},
		{"sequencers of different lengths compare by value", []meta.DestinationStatus{res("COMPLETED", "FF", 1, ""), res("FAILED", "100", 1, "x")}, res("FAILED", "100", 1, "x")},
		{"PENDING result is kept below a result of the same time", []meta.DestinationStatus{res("PENDING", s1, 1, ""), res("FAILED", s1, 1, "x")}, res("FAILED", s1, 1, "x")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := applyAll(pendingAtWrite, tc.results...); !got.Time.Equal(tc.want.Time) || got.Status != tc.want.Status ||
				got.Sequencer != tc.want.Sequencer || got.Error != tc.want.Error {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			// Every order of the same results ends in the same state.
			permute(tc.results, func(p []meta.DestinationStatus) {
				if got := applyAll(pendingAtWrite, p...); got != applyAll(pendingAtWrite, tc.results...) {
					t.Fatalf("order %v ends in %+v", p, got)
				}
			})
			// Applying twice is harmless.
			twice := append(append([]meta.DestinationStatus{}, tc.results...), tc.results...)
			if got := applyAll(pendingAtWrite, twice...); got != applyAll(pendingAtWrite, tc.results...) {
				t.Fatalf("applying twice ends in %+v", got)
			}
		})
	}
}

// permute calls f with every permutation of rs.
func permute(rs []meta.DestinationStatus, f func([]meta.DestinationStatus)) {
	p := append([]meta.DestinationStatus{}, rs...)
	var rec func(k int)
	rec = func(k int) {
		if k == len(p) {
			f(p)
			return
		}
		for i := k; i < len(p); i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

func TestOverallReplicationStatus(t *testing.T) {
	tests := []struct {
		name  string
		dests []string
		want  string
	}{
		{"none", nil, ""},
		{"all pending", []string{"PENDING", "PENDING"}, "PENDING"},
		{"some completed", []string{"COMPLETED", "PENDING"}, "PENDING"},
		{"all completed", []string{"COMPLETED", "COMPLETED"}, "COMPLETED"},
		{"one failed", []string{"COMPLETED", "FAILED", "PENDING"}, "FAILED"},
		{"single failed", []string{"FAILED"}, "FAILED"},
	}
	for _, tc := range tests {
		m := map[string]meta.DestinationStatus{}
		for i, s := range tc.dests {
			m[string(rune('a'+i))] = meta.DestinationStatus{Status: s}
		}
		if got := meta.OverallReplicationStatus(m); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, s := range []string{"PENDING", "COMPLETED", "FAILED"} {
		if !meta.ValidDestinationStatus(s) {
			t.Errorf("%s invalid", s)
		}
	}
	for _, s := range []string{"", "REPLICA", "completed"} {
		if meta.ValidDestinationStatus(s) {
			t.Errorf("%q valid", s)
		}
	}
}
