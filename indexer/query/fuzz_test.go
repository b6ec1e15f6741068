package query

import (
	"testing"
)

// FuzzParse checks that parsing never panics, that every error is an *Error
// with a position inside the input, and that every accepted query has a
// canonical form that parses back to itself.
func FuzzParse(f *testing.F) {
	for _, tc := range validQueries {
		f.Add(tc.in)
	}
	for _, tc := range invalidQueries {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (Expr, error){Parse, ParseCatalog} {
			e, err := parse(s)
			if err != nil {
				qe, ok := AsError(err)
				if !ok {
					t.Fatalf("error %T %v is not *Error", err, err)
				}
				if qe.Pos < 0 || qe.Pos > len(s) {
					t.Fatalf("position %d outside 0..%d for %q", qe.Pos, len(s), s)
				}
				continue
			}
			c := e.String()
			e2, err := parse(c)
			if err != nil {
				t.Fatalf("canonical form %q of %q does not parse: %v", c, s, err)
			}
			if e2.String() != c {
				t.Fatalf("canonical form not stable: %q -> %q", c, e2.String())
			}
		}
	})
}
