package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/deliver/signature"
)

// Request headers Sluice adds to webhook and function deliveries (besides
// the CloudEvents headers of binary mode and the signature headers).
const (
	// HeaderEventID carries the event id in every format (in binary mode
	// it equals ce-id); receivers de-duplicate by it.
	HeaderEventID = "X-Sluice-Event-Id"
	// HeaderTarget names the target the request is for.
	HeaderTarget = "X-Sluice-Target"
	// HeaderAttempt is the delivery number (1 for the first attempt).
	HeaderAttempt = "X-Sluice-Attempt"
	// userAgent identifies Sluice's deliveries.
	userAgent = "sluice-deliver/1"
	// maxErrorBody bounds the response bytes kept for an error message.
	maxErrorBody = 256
	// maxDrain bounds the response bytes read to reuse a connection.
	maxDrain = 64 << 10
)

// NewTransport returns the HTTP transport deliveries use by default:
// keep-alive connections (up to 64 idle per host), 5s to connect, 10s for
// the TLS handshake, HTTP/2 when offered, proxies from the environment.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// httpSender delivers to webhook and function targets.
type httpSender struct {
	t       TargetConfig
	client  *http.Client
	now     func() time.Time
	safeURL string // the URL without query or fragment, for messages
}

func newHTTPSender(t TargetConfig, rt http.RoundTripper, now func() time.Time) *httpSender {
	safe := t.URL
	if u, err := url.Parse(t.URL); err == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		safe = u.String()
	}
	return &httpSender{
		t: t,
		client: &http.Client{
			Transport: rt,
			// A redirect is an answer, not a place to follow: the target's
			// URL is configured, and following would resend the body (and
			// its bearer token) elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now:     now,
		safeURL: safe,
	}
}

// encode returns the request body and headers of d in the target's format.
func (s *httpSender) encode(d delivery) ([]byte, http.Header, error) {
	switch s.t.Format {
	case FormatStructured:
		body, err := events.MarshalStructured(d.event)
		if err != nil {
			return nil, nil, err
		}
		h := http.Header{}
		h.Set("Content-Type", events.ContentTypeStructured)
		return body, h, nil
	case FormatRecords:
		var (
			body []byte
			err  error
		)
		if d.record.EventName == events.TestEvent {
			body, err = awsTestEventBody(d.record, d.event.ID())
		} else {
			body, err = json.Marshal(events.Records{Records: []events.Record{d.record}})
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", events.ErrInvalidRecord, err)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		return body, h, nil
	default: // FormatBinary
		// NewHTTPRequest writes the binary-mode headers; its body is the
		// event's data.
		req, err := events.NewHTTPRequest(context.Background(), s.t.URL, d.event, events.HTTPBinary)
		if err != nil {
			return nil, nil, err
		}
		return d.event.Data(), req.Header, nil
	}
}

func (s *httpSender) send(ctx context.Context, d delivery) outcome {
	body, h, err := s.encode(d)
	if err != nil {
		return outcome{err: fmt.Errorf("%w: encode for %s: %w", ErrDelivery, s.t.Name, err), permanent: true}
	}
	h.Set("User-Agent", userAgent)
	h.Set(HeaderEventID, d.event.ID())
	h.Set(HeaderTarget, s.t.Name)
	h.Set(HeaderAttempt, strconv.FormatUint(d.attempt, 10))
	if s.t.Secret != "" {
		h.Set(signature.Header, signature.Sign([]byte(s.t.Secret), body))
		h.Set(signature.TimestampHeader, strconv.FormatInt(s.now().Unix(), 10))
	}
	if s.t.BearerToken != "" {
		h.Set("Authorization", "Bearer "+s.t.BearerToken)
	}
	actx, cancel := context.WithTimeout(ctx, s.t.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.t.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: fmt.Errorf("%w: POST %s: %w", ErrDelivery, s.safeURL, err), permanent: true}
	}
	req.Header = h
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, whose query may hold a key
		}
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %v: %w", s.t.Timeout, err)
		}
		return outcome{err: fmt.Errorf("%w: POST %s: %w", ErrDelivery, s.safeURL, err)}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return outcome{}
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	o := outcome{
		err:        fmt.Errorf("%w: POST %s: %d %s%s", ErrDelivery, s.safeURL, code, http.StatusText(code), quoteSnippet(snippet)),
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), s.now(), s.t.MaxRetryAfter),
	}
	if s.t.Kind == KindFunction && code >= 400 && code < 500 &&
		code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		o.permanent = true
	}
	return o
}

// quoteSnippet renders the start of an error response for a message: one
// line, valid UTF-8, quoted; "" when empty.
func quoteSnippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if s == "" {
		return ""
	}
	for len(s) > maxErrorBody {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return ": " + strconv.Quote(s)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP
// date, relative to now. It returns 0 for an absent, malformed or past
// value, and at most limit (when limit > 0). It never panics.
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	n, err := strconv.ParseUint(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		n, err = math.MaxUint64, nil
	}
	if err == nil {
		if limit > 0 && n > uint64(limit/time.Second)+1 {
			return limit
		}
		if n > uint64(1<<62)/uint64(time.Second) {
			n = uint64(1<<62) / uint64(time.Second)
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0
	}
	if d < 0 {
		return 0
	}
	if limit > 0 && d > limit {
		return limit
	}
	return d
}
