package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/events/deliver"
)

// Client errors.
var (
	// ErrNotFound: the server answered 404 (unknown target or dead letter).
	ErrNotFound = errors.New("admin: not found")
	// ErrBadRequest: the server answered 400.
	ErrBadRequest = errors.New("admin: bad request")
	// ErrServer: the server answered another non-2xx status.
	ErrServer = errors.New("admin: server error")
)

// Client calls the admin API of an events process, for `sluice events`.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for the process listener at base
// ("http://127.0.0.1:9601"); hc nil means a client with a 30s timeout. It
// returns an error for a base that is not an http(s) URL.
func NewClient(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("admin: base URL %q: want http(s)://host[:port]", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), hc: hc}, nil
}

// Targets returns every target's status.
func (c *Client) Targets(ctx context.Context) ([]deliver.Status, error) {
	var out []deliver.Status
	err := c.do(ctx, http.MethodGet, "targets", nil, nil, &out)
	return out, err
}

// Status returns one target's status.
func (c *Client) Status(ctx context.Context, name string) (deliver.Status, error) {
	var out deliver.Status
	err := c.do(ctx, http.MethodGet, "targets/"+url.PathEscape(name), nil, nil, &out)
	return out, err
}

// Pause pauses a target until until (zero: until resumed).
func (c *Client) Pause(ctx context.Context, name string, until time.Time) (deliver.Status, error) {
	q := url.Values{}
	if !until.IsZero() {
		q.Set("until", until.UTC().Format(time.RFC3339))
	}
	var out deliver.Status
	err := c.do(ctx, http.MethodPost, "targets/"+url.PathEscape(name)+"/pause", q, nil, &out)
	return out, err
}

// Resume resumes a target.
func (c *Client) Resume(ctx context.Context, name string) (deliver.Status, error) {
	var out deliver.Status
	err := c.do(ctx, http.MethodPost, "targets/"+url.PathEscape(name)+"/resume", nil, nil, &out)
	return out, err
}

// DeadLetters lists up to limit dead letters of a target (limit <= 0: the
// server's default).
func (c *Client) DeadLetters(ctx context.Context, name string, limit int) ([]deliver.DeadLetter, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []deliver.DeadLetter
	err := c.do(ctx, http.MethodGet, "targets/"+url.PathEscape(name)+"/dead-letters", q, nil, &out)
	return out, err
}

// Redrive redrives the given dead letters of a target.
func (c *Client) Redrive(ctx context.Context, name string, seqs []uint64) (int, error) {
	var out RedriveResponse
	err := c.do(ctx, http.MethodPost, "targets/"+url.PathEscape(name)+"/redrive", nil, RedriveRequest{Seqs: seqs}, &out)
	return out.Redriven, err
}

// RedriveAll redrives every dead letter of a target.
func (c *Client) RedriveAll(ctx context.Context, name string) (int, error) {
	var out RedriveResponse
	err := c.do(ctx, http.MethodPost, "targets/"+url.PathEscape(name)+"/redrive", nil, RedriveRequest{All: true}, &out)
	return out.Redriven, err
}

// SendTestEvent sends an s3:TestEvent about bucket to a target and
// returns its id.
func (c *Client) SendTestEvent(ctx context.Context, name, bucket string) (string, error) {
	var out TestEventResponse
	err := c.do(ctx, http.MethodPost, "targets/"+url.PathEscape(name)+"/test", url.Values{"bucket": {bucket}}, nil, &out)
	return out.ID, err
}

// do sends one request and decodes the JSON answer into out. Errors wrap
// ErrNotFound, ErrBadRequest or ErrServer with the server's message, or
// are transport errors.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := c.base + Prefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("admin: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin: %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin: read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e errorResponse
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		sentinel := ErrServer
		switch resp.StatusCode {
		case http.StatusNotFound:
			sentinel = ErrNotFound
		case http.StatusBadRequest:
			sentinel = ErrBadRequest
		}
		return fmt.Errorf("%w: %s %s: %d: %s", sentinel, method, path, resp.StatusCode, msg)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("admin: decode answer: %w", err)
	}
	return nil
}
