package load

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Named is one server's Result in a comparison.
type Named struct {
	Server string `json:"server"`
	Result Result `json:"result"`
}

// Comparison sets one server (the subject) against the best of the others on one
// workload and object size. The best peer is the one with the highest successful ops/s.
type Comparison struct {
	Workload   Workload `json:"workload"`
	ObjectSize int64    `json:"object_size"`
	Subject    string   `json:"subject"`
	// BestPeer is empty when no other server ran this workload.
	BestPeer string `json:"best_peer,omitempty"`
	// Ratio is the subject's ops/s divided by the best peer's; 0 when there is no peer
	// or the best peer completed no operation.
	Ratio float64 `json:"ratio"`
	// Rows are the servers' figures, in the order they were given.
	Rows []Named `json:"rows"`
}

// Compare groups runs by workload and object size, in order of first appearance, and
// computes for each group the ratio of subject's ops/s to the best other server's. A
// group without the subject gets an empty Subject and Ratio 0.
func Compare(subject string, runs []Named) []Comparison {
	type groupKey struct {
		w    Workload
		size int64
	}
	var order []groupKey
	groups := map[groupKey]*Comparison{}
	for _, n := range runs {
		k := groupKey{n.Result.Workload, n.Result.ObjectSize}
		g, ok := groups[k]
		if !ok {
			g = &Comparison{Workload: k.w, ObjectSize: k.size}
			groups[k] = g
			order = append(order, k)
		}
		g.Rows = append(g.Rows, n)
	}
	out := make([]Comparison, 0, len(order))
	for _, k := range order {
		g := groups[k]
		var subj *Named
		var best *Named
		for i := range g.Rows {
			n := &g.Rows[i]
			if n.Server == subject {
				subj = n
				continue
			}
			if best == nil || n.Result.Total.OpsPerSec > best.Result.Total.OpsPerSec {
				best = n
			}
		}
		if subj != nil {
			g.Subject = subject
		}
		if best != nil {
			g.BestPeer = best.Server
		}
		if subj != nil && best != nil && best.Result.Total.OpsPerSec > 0 {
			g.Ratio = subj.Result.Total.OpsPerSec / best.Result.Total.OpsPerSec
		}
		out = append(out, *g)
	}
	return out
}

// WriteComparison prints the comparisons as one table: a row per server and workload with
// ops/s, MiB/s, p50, p99 and errors, and on the subject's row its ratio to the best peer
// ("1.25x minio"). It returns w's write error.
func WriteComparison(w io.Writer, comps []Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tsize\tserver\tops/s\tMiB/s\tp50\tp99\terrors\tvs best peer\t")
	for _, c := range comps {
		for _, n := range c.Rows {
			t := n.Result.Total
			ratio := ""
			if n.Server == c.Subject && c.BestPeer != "" {
				ratio = fmt.Sprintf("%.2fx %s", c.Ratio, c.BestPeer)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%s\t%s\t%d\t%s\t\n", c.Workload, FormatSize(c.ObjectSize), n.Server,
				t.OpsPerSec, t.MiBPerSec, fmtDur(t.Latency.P50), fmtDur(t.Latency.P99), t.Errors, ratio)
		}
	}
	return tw.Flush()
}
