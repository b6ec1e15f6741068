package load

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func named(server string, w Workload, size int64, opsPerSec float64) Named {
	return Named{Server: server, Result: Result{Workload: w, ObjectSize: size,
		Total: OpStats{Op: OpTotal, OpsPerSec: opsPerSec, Latency: Latency{P50: time.Millisecond, P99: 3 * time.Millisecond}}}}
}

func TestCompare(t *testing.T) {
	runs := []Named{
		named("sluice", WorkloadPut, 64<<10, 300),
		named("minio", WorkloadPut, 64<<10, 100),
		named("versitygw", WorkloadPut, 64<<10, 200),
		named("sluice", WorkloadGet, 64<<10, 500),
		named("minio", WorkloadGet, 64<<10, 1000),
		named("versitygw", WorkloadGet, 64<<10, 0),
		named("minio", WorkloadPut, 4<<20, 10),  // no subject in this group
		named("sluice", WorkloadGet, 4<<20, 10), // no peer in this group
		named("sluice", WorkloadPut, 1<<20, 10),
		named("minio", WorkloadPut, 1<<20, 0), // the only peer did nothing
	}
	want := []struct {
		w        Workload
		size     int64
		subject  string
		bestPeer string
		ratio    float64
		rows     int
	}{
		{WorkloadPut, 64 << 10, "sluice", "versitygw", 1.5, 3},
		{WorkloadGet, 64 << 10, "sluice", "minio", 0.5, 3},
		{WorkloadPut, 4 << 20, "", "minio", 0, 1},
		{WorkloadGet, 4 << 20, "sluice", "", 0, 1},
		{WorkloadPut, 1 << 20, "sluice", "minio", 0, 2},
	}
	got := Compare("sluice", runs)
	if len(got) != len(want) {
		t.Fatalf("Compare returned %d groups, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Workload != w.w || g.ObjectSize != w.size || g.Subject != w.subject || g.BestPeer != w.bestPeer ||
			math.Abs(g.Ratio-w.ratio) > 1e-9 || len(g.Rows) != w.rows {
			t.Errorf("group %d = %s/%d subject %q best %q ratio %v rows %d; want %+v",
				i, g.Workload, g.ObjectSize, g.Subject, g.BestPeer, g.Ratio, len(g.Rows), w)
		}
	}

	var buf bytes.Buffer
	if err := WriteComparison(&buf, got); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"vs best peer", "1.50x versitygw", "0.50x minio", "64KiB", "4MiB", "1.00ms"} {
		if !strings.Contains(out, s) {
			t.Errorf("comparison table lacks %q:\n%s", s, out)
		}
	}
}

func TestResultOutput(t *testing.T) {
	r := Result{
		Workload: WorkloadMixed, Endpoint: "http://127.0.0.1:1", ObjectSize: 4 << 20, Concurrency: 2, Keys: 3,
		Checksum: ChecksumSupported, Elapsed: 1500 * time.Millisecond, GetRatio: 0.5,
		ByOp: []OpStats{
			{Op: OpPut, Ops: 3, Latency: Latency{P50: 2 * time.Millisecond, P99: 1500 * time.Microsecond}},
			{Op: OpGet, Ops: 4, Errors: 1},
		},
		Total:        OpStats{Op: OpTotal, Ops: 7, Errors: 1},
		ErrorSamples: []string{"get x: boom"},
	}
	var table bytes.Buffer
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"workload mixed", "size 4MiB", "PUT", "GET", "ALL", "2.00ms", "error: get x: boom"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["elapsed_s"] != 1.5 || back["workload"] != "mixed" {
		t.Errorf("JSON = %s", b)
	}
	lat := back["by_op"].([]any)[0].(map[string]any)["latency"].(map[string]any)
	if lat["p50_ms"] != 2.0 || lat["p99_ms"] != 1.5 {
		t.Errorf("latency JSON = %v", lat)
	}
}
