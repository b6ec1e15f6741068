package postgres

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct {
		in    string
		nargs int
		want  string
	}{
		{"SELECT 1", 0, "SELECT 1"},
		{"SELECT ?", 0, "SELECT ?"}, // no arguments: left alone (migrations)
		{"SELECT a FROM t WHERE b = ? AND c > ?", 2, "SELECT a FROM t WHERE b = $1 AND c > $2"},
		{"IN (?, ?, ?)", 3, "IN ($1, $2, $3)"},
		{"?????????????", 13, "$1$2$3$4$5$6$7$8$9$10$11$12$13"},
	}
	for _, tc := range tests {
		if got := rebind(tc.in, tc.nargs); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := rebind(tc.in, tc.nargs); got != tc.want { // cached
			t.Errorf("cached rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
