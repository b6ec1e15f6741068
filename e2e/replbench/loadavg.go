package replbench

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrLoadAvg is returned by ParseLoadAvg for text that is not /proc/loadavg's, and by
// ReadLoadAvg when the file cannot be read.
var ErrLoadAvg = errors.New("replbench: load average unavailable")

// LoadAvg is the system load average over 1, 5 and 15 minutes.
type LoadAvg struct {
	One     float64 `json:"1m"`
	Five    float64 `json:"5m"`
	Fifteen float64 `json:"15m"`
}

// String formats the three averages as /proc/loadavg does.
func (l LoadAvg) String() string { return fmt.Sprintf("%.2f %.2f %.2f", l.One, l.Five, l.Fifteen) }

// ParseLoadAvg parses the content of /proc/loadavg ("0.52 0.58 0.59 1/123 4567"): the
// first three fields, which must be finite non-negative numbers. Other input returns an
// error wrapping ErrLoadAvg.
func ParseLoadAvg(s string) (LoadAvg, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return LoadAvg{}, fmt.Errorf("%w: %q has fewer than three fields", ErrLoadAvg, s)
	}
	var v [3]float64
	for i := range v {
		x, err := strconv.ParseFloat(f[i], 64)
		if err != nil || x < 0 || x != x || x > 1e9 {
			return LoadAvg{}, fmt.Errorf("%w: field %d %q is not a load average", ErrLoadAvg, i+1, f[i])
		}
		v[i] = x
	}
	return LoadAvg{One: v[0], Five: v[1], Fifteen: v[2]}, nil
}

// ReadLoadAvg reads /proc/loadavg. Where it does not exist it returns an error wrapping
// ErrLoadAvg.
func ReadLoadAvg() (LoadAvg, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return LoadAvg{}, fmt.Errorf("%w: %w", ErrLoadAvg, err)
	}
	return ParseLoadAvg(string(b))
}

// loadNow returns the load average, or the zero value where it cannot be read (a
// measurement is still worth reporting without it).
func loadNow() LoadAvg {
	l, _ := ReadLoadAvg()
	return l
}
