package load

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Operation names used in OpStats.Op.
const (
	OpPut   = "PUT"
	OpGet   = "GET"
	OpTotal = "ALL"
)

// Latency summarises the latencies of the successful operations of one kind. Quantiles
// come from a Histogram: within 0.8 % of the exact value, never below it.
type Latency struct {
	Min, Mean, P50, P90, P99, Max time.Duration
}

// newLatency summarises h.
func newLatency(h *Histogram) Latency {
	return Latency{
		Min: h.Min(), Mean: h.Mean(), Max: h.Max(),
		P50: h.Quantile(0.50), P90: h.Quantile(0.90), P99: h.Quantile(0.99),
	}
}

// ms converts d to fractional milliseconds for JSON.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MarshalJSON renders the latencies in milliseconds: {"min_ms":..,"mean_ms":..,"p50_ms":..}.
func (l Latency) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Min  float64 `json:"min_ms"`
		Mean float64 `json:"mean_ms"`
		P50  float64 `json:"p50_ms"`
		P90  float64 `json:"p90_ms"`
		P99  float64 `json:"p99_ms"`
		Max  float64 `json:"max_ms"`
	}{ms(l.Min), ms(l.Mean), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max)})
}

// OpStats are the figures of one kind of operation (PUT, GET) or of all of them (ALL).
// Ops counts successful operations only; Errors counts failed ones (including content
// mismatches); Bytes is the object data moved by the successful ones.
type OpStats struct {
	Op        string  `json:"op"`
	Ops       int64   `json:"ops"`
	Errors    int64   `json:"errors"`
	Bytes     int64   `json:"bytes"`
	OpsPerSec float64 `json:"ops_per_sec"`
	MiBPerSec float64 `json:"mib_per_sec"`
	Latency   Latency `json:"latency"`
}

// Result is what Run measured.
type Result struct {
	Workload    Workload     `json:"workload"`
	Endpoint    string       `json:"endpoint"`
	Bucket      string       `json:"bucket"`
	ObjectSize  int64        `json:"object_size"`
	Concurrency int          `json:"concurrency"`
	Keys        int          `json:"keys"`
	GetRatio    float64      `json:"get_ratio,omitempty"`
	Checksum    ChecksumMode `json:"checksum"`
	// Elapsed is the wall time of the measured phase, from the first request until the
	// last worker finished its last one.
	Elapsed time.Duration `json:"-"`
	// Total sums every operation; ByOp has one entry per operation kind that ran.
	Total OpStats   `json:"total"`
	ByOp  []OpStats `json:"by_op"`
	// ErrorSamples holds the first few distinct error messages, for diagnosis.
	ErrorSamples []string `json:"error_samples,omitempty"`
}

// MarshalJSON adds elapsed_s (seconds) to the exported fields.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		ElapsedSeconds float64 `json:"elapsed_s"`
	}{plain(r), r.Elapsed.Seconds()})
}

// fmtDur renders a latency with three significant figures in a unit that suits it.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", ms(d))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", ms(d))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// WriteTable prints r as a human-readable table: a header line describing the run, then
// one row per operation kind (and a total row for MIXED). It returns w's write error.
func WriteTable(w io.Writer, r Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "workload %s, size %s, concurrency %d, keys %d, checksum %s, %.1fs, %s\n",
		r.Workload, FormatSize(r.ObjectSize), r.Concurrency, r.Keys, r.Checksum, r.Elapsed.Seconds(), r.Endpoint)
	fmt.Fprintln(tw, "op\tops\terrors\tops/s\tMiB/s\tp50\tp90\tp99\tmax\t")
	rows := r.ByOp
	if len(r.ByOp) > 1 {
		rows = append(append([]OpStats(nil), r.ByOp...), r.Total)
	}
	for _, s := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t\n", s.Op, s.Ops, s.Errors, s.OpsPerSec, s.MiBPerSec,
			fmtDur(s.Latency.P50), fmtDur(s.Latency.P90), fmtDur(s.Latency.P99), fmtDur(s.Latency.Max))
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(tw, "error: %s\n", e)
	}
	return tw.Flush()
}
