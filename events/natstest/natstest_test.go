package natstest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/events/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunJetStreamRestartKeepsStore(t *testing.T) {
	s := natstest.RunJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := s.URL()

	if _, err := s.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := s.JetStream().Publish(ctx, "t.1", []byte("one")); err != nil {
		t.Fatalf("publish: %v", err)
	}

	s.Shutdown()
	if s.NATS() != nil {
		t.Fatal("NATS() after Shutdown: want nil")
	}
	s.Shutdown() // twice is fine

	s.Restart()
	if got := s.URL(); got != url {
		t.Fatalf("URL after restart = %s, want %s", got, url)
	}
	// The helper's connection reconnects on its own.
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		st, err := s.JetStream().Stream(ctx, "T")
		if err != nil {
			return err
		}
		if n := st.CachedInfo().State.Msgs; n != 1 {
			return fmt.Errorf("stream has %d messages, want 1", n)
		}
		return nil
	})

	// A second connection, as another process would open.
	_, js2 := s.Connect(t)
	if _, err := js2.Publish(ctx, "t.2", []byte("two")); err != nil {
		t.Fatalf("publish on second connection: %v", err)
	}
}

// fakeTB records Fatalf instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestCheckFor(t *testing.T) {
	tests := []struct {
		name     string
		okAfter  int // calls before f returns nil; -1 never
		wantFail bool
	}{
		{name: "immediately", okAfter: 0},
		{name: "after a few polls", okAfter: 3},
		{name: "never", okAfter: -1, wantFail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTB{TB: t}
			calls := 0
			natstest.CheckFor(ft, 200*time.Millisecond, time.Millisecond, func() error {
				calls++
				if tc.okAfter >= 0 && calls > tc.okAfter {
					return nil
				}
				return errors.New("not yet")
			})
			if got := ft.failed != ""; got != tc.wantFail {
				t.Fatalf("failed = %v (%q), want %v", got, ft.failed, tc.wantFail)
			}
			if tc.okAfter >= 0 && calls != tc.okAfter+1 {
				t.Fatalf("f called %d times, want %d", calls, tc.okAfter+1)
			}
		})
	}
}
