package replicator

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

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/services/health"
)

// AdminPrefix is where the replicator's admin routes live.
const AdminPrefix = "/admin/replication"

// Admin routes (all answer JSON; errors are {"error": "..."}):
//
//	GET  /admin/replication/destinations                      []DestinationStatus
//	GET  /admin/replication/destinations/{dest}               DestinationStatus
//	POST /admin/replication/destinations/{dest}/pause         DestinationStatus
//	POST /admin/replication/destinations/{dest}/resume        DestinationStatus
//	GET  /admin/replication/destinations/{dest}/failed?bucket=&limit=   []Checkpoint
//	POST /admin/replication/destinations/{dest}/retry         {"count": n}
//	POST /admin/replication/destinations/{dest}/resync?bucket=&prefix=  {"count": n}
//	GET  /admin/replication/buckets/{bucket}                  []BucketDestination
func (s *Service) routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET " + AdminPrefix + "/destinations":                s.hList,
		"GET " + AdminPrefix + "/destinations/{dest}":         s.hStatus,
		"POST " + AdminPrefix + "/destinations/{dest}/pause":  s.hPause,
		"POST " + AdminPrefix + "/destinations/{dest}/resume": s.hResume,
		"GET " + AdminPrefix + "/destinations/{dest}/failed":  s.hFailed,
		"POST " + AdminPrefix + "/destinations/{dest}/retry":  s.hRetry,
		"POST " + AdminPrefix + "/destinations/{dest}/resync": s.hResync,
		"GET " + AdminPrefix + "/buckets/{bucket}":            s.hBucket,
	}
}

// Mount mounts the admin routes on a (the process's /admin/ mux). It
// returns health.ErrBadRoute (wrapped) when a route conflicts.
func (s *Service) Mount(a health.Admin) error {
	for p, h := range s.routes() {
		if err := a.Handle(p, h); err != nil {
			return fmt.Errorf("replicator: mount %s: %w", p, err)
		}
	}
	return nil
}

// Handler returns the admin routes as one http.Handler (for tests and for
// processes without a shared admin mux).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	for p, h := range s.routes() {
		mux.HandleFunc(p, h)
	}
	return mux
}

func (s *Service) hList(w http.ResponseWriter, r *http.Request) {
	out := []DestinationStatus{}
	for _, d := range s.cfg.Destinations {
		st, err := s.Status(r.Context(), d)
		if err != nil {
			s.reply(w, nil, err)
			return
		}
		out = append(out, st)
	}
	s.reply(w, out, nil)
}

func (s *Service) hStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context(), r.PathValue("dest"))
	s.reply(w, st, err)
}

func (s *Service) hPause(w http.ResponseWriter, r *http.Request) {
	d := r.PathValue("dest")
	if err := s.Pause(r.Context(), d); err != nil {
		s.reply(w, nil, err)
		return
	}
	s.hStatus(w, r)
}

func (s *Service) hResume(w http.ResponseWriter, r *http.Request) {
	d := r.PathValue("dest")
	if err := s.Resume(r.Context(), d); err != nil {
		s.reply(w, nil, err)
		return
	}
	s.hStatus(w, r)
}

func (s *Service) hFailed(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	out, err := s.Failed(r.Context(), r.PathValue("dest"), r.URL.Query().Get("bucket"), limit)
	s.reply(w, out, err)
}

type countReply struct {
	Count int `json:"count"`
}

func (s *Service) hRetry(w http.ResponseWriter, r *http.Request) {
	n, err := s.RetryFailed(r.Context(), r.PathValue("dest"))
	s.reply(w, countReply{n}, err)
}

func (s *Service) hResync(w http.ResponseWriter, r *http.Request) {
	b := r.URL.Query().Get("bucket")
	if b == "" {
		s.reply(w, nil, fmt.Errorf("%w: bucket is required", rules.ErrInvalidBucket))
		return
	}
	n, err := s.Resync(r.Context(), r.PathValue("dest"), b, r.URL.Query().Get("prefix"))
	s.reply(w, countReply{n}, err)
}

func (s *Service) hBucket(w http.ResponseWriter, r *http.Request) {
	out, err := s.BucketStatus(r.Context(), r.PathValue("bucket"))
	s.reply(w, out, err)
}

func (s *Service) reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrUnknownDestination), errors.Is(err, rules.ErrNotFound):
			code = http.StatusNotFound
		case errors.Is(err, rules.ErrInvalidBucket), errors.Is(err, rules.ErrInvalidRule):
			code = http.StatusBadRequest
		case errors.Is(err, ErrNotRunning):
			code = http.StatusServiceUnavailable
		}
		if code == http.StatusInternalServerError {
			s.log.Warn("admin request failed", zap.Error(err))
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// Client calls the replicator's admin API; `sluice replication` uses it.
type Client struct {
	base string
	hc   *http.Client
}

// ErrAdmin is returned by Client methods for an error reply; the message
// holds the status and the server's error text.
var ErrAdmin = errors.New("replicator: admin request failed")

// NewClient returns a client for the process listener at base
// ("http://127.0.0.1:9601"); a nil hc means http.DefaultClient.
func NewClient(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: base %q is not an http(s) URL", ErrAdmin, base)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(base, "/"), hc: hc}, nil
}

// Destinations returns the status of every destination.
func (c *Client) Destinations(ctx context.Context) ([]DestinationStatus, error) {
	var out []DestinationStatus
	return out, c.do(ctx, http.MethodGet, "/destinations", nil, &out)
}

// Status returns the status of dest.
func (c *Client) Status(ctx context.Context, dest string) (DestinationStatus, error) {
	var out DestinationStatus
	return out, c.do(ctx, http.MethodGet, "/destinations/"+url.PathEscape(dest), nil, &out)
}

// Pause pauses dest and returns its status.
func (c *Client) Pause(ctx context.Context, dest string) (DestinationStatus, error) {
	var out DestinationStatus
	return out, c.do(ctx, http.MethodPost, "/destinations/"+url.PathEscape(dest)+"/pause", nil, &out)
}

// Resume resumes dest and returns its status.
func (c *Client) Resume(ctx context.Context, dest string) (DestinationStatus, error) {
	var out DestinationStatus
	return out, c.do(ctx, http.MethodPost, "/destinations/"+url.PathEscape(dest)+"/resume", nil, &out)
}

// Failed lists FAILED operations of dest (bucket may be empty).
func (c *Client) Failed(ctx context.Context, dest, bucket string, limit int) ([]Checkpoint, error) {
	q := url.Values{}
	if bucket != "" {
		q.Set("bucket", bucket)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []Checkpoint
	return out, c.do(ctx, http.MethodGet, "/destinations/"+url.PathEscape(dest)+"/failed", q, &out)
}

// Retry redrives the FAILED operations of dest; it returns how many.
func (c *Client) Retry(ctx context.Context, dest string) (int, error) {
	var out countReply
	return out.Count, c.do(ctx, http.MethodPost, "/destinations/"+url.PathEscape(dest)+"/retry", nil, &out)
}

// Resync enqueues the existing objects of bucket (under prefix) for dest;
// it returns how many.
func (c *Client) Resync(ctx context.Context, dest, bucket, prefix string) (int, error) {
	q := url.Values{"bucket": {bucket}}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	var out countReply
	return out.Count, c.do(ctx, http.MethodPost, "/destinations/"+url.PathEscape(dest)+"/resync", q, &out)
}

// Bucket returns the per-destination results of bucket.
func (c *Client) Bucket(ctx context.Context, bucket string) ([]BucketDestination, error) {
	var out []BucketDestination
	return out, c.do(ctx, http.MethodGet, "/buckets/"+url.PathEscape(bucket), nil, &out)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, out any) error {
	u := c.base + AdminPrefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAdmin, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAdmin, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAdmin, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Error == "" {
			e.Error = string(bytes.TrimSpace(body))
		}
		return fmt.Errorf("%w: %s: %s", ErrAdmin, resp.Status, e.Error)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: decode reply: %w", ErrAdmin, err)
	}
	return nil
}
