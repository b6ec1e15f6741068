package sqlstore

// SetProbeLimit changes the probe bound for a test and returns the undo.
func SetProbeLimit(n int) func() {
	old := probeLimit
	probeLimit = n
	return func() { probeLimit = old }
}

// SetPurgeHook makes fn run between the choice of the rows a purge removes
// and their removal, and returns the undo.
func SetPurgeHook(fn func()) func() {
	old := purgeChosen
	purgeChosen = fn
	return func() { purgeChosen = old }
}
