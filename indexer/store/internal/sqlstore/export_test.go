package sqlstore

// SetProbeLimit changes the probe bound for a test and returns the undo.
func SetProbeLimit(n int) func() {
	old := probeLimit
	probeLimit = n
	return func() { probeLimit = old }
}
