package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps a unit suffix (lower case) to its multiplier. Binary prefixes (KiB, MiB,
// GiB, TiB) and their one-letter forms (K, M, G, T) are powers of 1024; the SI forms
// (KB, MB, GB, TB) are powers of 1000, as the S3 tools the comparison is read next to use.
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"k":   1 << 10,
	"kib": 1 << 10,
	"kb":  1000,
	"m":   1 << 20,
	"mib": 1 << 20,
	"mb":  1000 * 1000,
	"g":   1 << 30,
	"gib": 1 << 30,
	"gb":  1000 * 1000 * 1000,
	"t":   1 << 40,
	"tib": 1 << 40,
	"tb":  1000 * 1000 * 1000 * 1000,
}

// ParseSize parses a byte count such as "4096", "64KiB", "4MiB", "1.5M" or "10MB".
// Units are case-insensitive; K/KiB, M/MiB, G/GiB and T/TiB are powers of 1024 and KB, MB,
// GB, TB powers of 1000. A fraction is allowed when the result is a whole number of bytes.
// Negative, fractional-byte, overflowing or unknown inputs return an error wrapping
// ErrInvalidSize; ParseSize never panics.
func ParseSize(s string) (int64, error) {
	text := strings.TrimSpace(s)
	i := 0
	for i < len(text) && (text[i] >= '0' && text[i] <= '9' || text[i] == '.') {
		i++
	}
	num, unit := text[:i], strings.ToLower(strings.TrimSpace(text[i:]))
	if num == "" {
		return 0, fmt.Errorf("%w: %q has no number", ErrInvalidSize, s)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("%w: %q has unknown unit %q", ErrInvalidSize, s, text[i:])
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %q: %w", ErrInvalidSize, s, err)
		}
		if n > math.MaxInt64/mult {
			return 0, fmt.Errorf("%w: %q overflows", ErrInvalidSize, s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrInvalidSize, s, err)
	}
	v := f * float64(mult)
	// 2^53: beyond it float64 cannot tell whole numbers apart.
	if v >= 1<<53 {
		return 0, fmt.Errorf("%w: %q is too large for a fractional size", ErrInvalidSize, s)
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("%w: %q is not a whole number of bytes", ErrInvalidSize, s)
	}
	return int64(v), nil
}

// FormatSize renders n with the largest binary unit that divides it exactly ("64KiB",
// "4MiB", "1000B"), so that ParseSize(FormatSize(n)) == n for every n >= 0.
func FormatSize(n int64) string {
	units := []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
