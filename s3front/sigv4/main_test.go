package sigv4

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine running (test
// servers, client connections).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
