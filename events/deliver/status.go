package deliver

import (
	"encoding/json"
	"sync"
	"time"
)

// Status is a target's state, for the admin API and `sluice events`.
// Backlog, pause and dead-letter figures come from JetStream and hold for
// every replica; the counters, last success and last error are this
// replica's, since it started.
type Status struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	ARN      string `json:"arn"`
	Consumer string `json:"consumer"`
	// ConsumerExists is false until a deliverer created the consumer.
	ConsumerExists bool `json:"consumer_exists"`
	// Running is true while this replica's delivery loop runs.
	Running bool `json:"running"`
	// Subscriptions counts the subscriptions naming the target.
	Subscriptions int `json:"subscriptions"`
	// Filters are the consumer's filter subjects.
	Filters []string `json:"filters,omitempty"`

	// Backlog is Pending + AckPending: events not yet delivered.
	Backlog     uint64 `json:"backlog"`
	Pending     uint64 `json:"pending"`
	AckPending  int    `json:"ack_pending"`
	Redelivered int    `json:"redelivered"`
	// DeadLetters counts the target's entries in the dead-letter stream.
	DeadLetters uint64 `json:"dead_letters"`

	Paused      bool       `json:"paused"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	// CircuitOpen is true while deliveries wait for a probe (this replica).
	CircuitOpen bool `json:"circuit_open"`

	LastSuccess   *time.Time `json:"last_success,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	LastErrorTime *time.Time `json:"last_error_time,omitempty"`
	// RatePerSecond is the mean rate of accepted deliveries over the last
	// minute.
	RatePerSecond float64 `json:"rate_per_second"`
	Delivered     uint64  `json:"delivered"`
	Retried       uint64  `json:"retried"`
	Failed        uint64  `json:"failed"`
	Filtered      uint64  `json:"filtered"`
}

// DeadLetter is a target's dead-lettered event.
type DeadLetter struct {
	// Seq identifies the entry (pass it to Redrive).
	Seq    uint64 `json:"seq"`
	Target string `json:"target"`
	// Reason is the last error.
	Reason string `json:"reason"`
	// Subject is the event's subject; StreamSeq its place in the events
	// stream.
	Subject    string    `json:"subject"`
	StreamSeq  uint64    `json:"stream_seq"`
	Deliveries uint64    `json:"deliveries"`
	Time       time.Time `json:"time"`
	EventID    string    `json:"event_id,omitempty"`
	EventType  string    `json:"event_type,omitempty"`
	Bucket     string    `json:"bucket,omitempty"`
	Key        string    `json:"key,omitempty"`
	// Record is the event's S3 record (JSON), when it is one.
	Record json.RawMessage `json:"record,omitempty"`
}

// rateWindow counts events per second over the last rateSeconds.
type rateWindow struct {
	counts [rateSeconds]uint64
	secs   [rateSeconds]int64
}

const rateSeconds = 60

func (r *rateWindow) add(now time.Time) {
	s := now.Unix()
	i := int(uint64(s) % rateSeconds)
	if r.secs[i] != s {
		r.secs[i], r.counts[i] = s, 0
	}
	r.counts[i]++
}

func (r *rateWindow) perSecond(now time.Time) float64 {
	s := now.Unix()
	var n uint64
	for i := range r.counts {
		if age := s - r.secs[i]; age >= 0 && age < rateSeconds {
			n += r.counts[i]
		}
	}
	return float64(n) / rateSeconds
}

// targetState is a target's in-process counters. Safe for concurrent use.
type targetState struct {
	mu          sync.Mutex
	running     bool
	lastSuccess time.Time
	lastError   string
	lastErrorAt time.Time
	delivered   uint64
	retried     uint64
	failed      uint64
	filtered    uint64
	rate        rateWindow
}

func (s *targetState) success(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSuccess = now
	s.delivered++
	s.rate.add(now)
}

func (s *targetState) failure(now time.Time, msg string, retried bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastError, s.lastErrorAt = msg, now
	if retried {
		s.retried++
	}
}

func (s *targetState) count(field *uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*field++
}

func (s *targetState) setRunning(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = v
}

// fill copies the counters into st.
func (s *targetState) fill(st *Status, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Running = s.running
	if !s.lastSuccess.IsZero() {
		t := s.lastSuccess
		st.LastSuccess = &t
	}
	if !s.lastErrorAt.IsZero() {
		t := s.lastErrorAt
		st.LastError, st.LastErrorTime = s.lastError, &t
	}
	st.Delivered, st.Retried, st.Failed, st.Filtered = s.delivered, s.retried, s.failed, s.filtered
	st.RatePerSecond = s.rate.perSecond(now)
}
