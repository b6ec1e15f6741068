package peers

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// RequirePeersEnv, set to 1, makes StartTest fail a test instead of skipping it when no
// server binary is installed (CI sets it so a missing install is not silently green).
const RequirePeersEnv = "SLUICE_REQUIRE_PEERS"

// StartTest starts the first of kinds whose binary Find reports (all Kinds except Sluice
// when kinds is empty) with default Options, and stops it in t.Cleanup. When none is
// installed it skips t, or fails it when $SLUICE_REQUIRE_PEERS is 1. A start failure
// fails t with the server's log tail.
func StartTest(t testing.TB, kinds ...Kind) *Server {
	t.Helper()
	if len(kinds) == 0 {
		kinds = []Kind{MinIO, VersityGW}
	}
	var missing []error
	for _, k := range kinds {
		if _, err := Find(k); err != nil && !(k == Sluice && errors.Is(err, ErrBinaryNotFound)) {
			missing = append(missing, err)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		s, err := Start(ctx, k, Options{})
		cancel()
		if err != nil {
			t.Fatalf("start %s: %v", k, err)
		}
		t.Cleanup(func() {
			if err := s.Stop(context.Background()); err != nil {
				t.Errorf("stop %s: %v", k, err)
			}
		})
		return s
	}
	msg := "no S3 server to test against (" + errors.Join(missing...).Error() + ")"
	if os.Getenv(RequirePeersEnv) == "1" {
		t.Fatalf("%s; $%s=1 requires one", msg, RequirePeersEnv)
	}
	t.Skipf("%s; install one or set $%s=1 to make this a failure", msg, RequirePeersEnv)
	return nil
}
