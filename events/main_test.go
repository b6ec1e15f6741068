package events

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines running (an
// embedded NATS server or HTTP server not shut down, say).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
