// Package admin serves the delivery admin API over HTTP and provides the
// client `sluice events` uses.
//
// Routes (mount them with Mount under /admin/events/):
//
//	GET  /admin/events/targets                          every target's status
//	GET  /admin/events/targets/{name}                   one target's status
//	POST /admin/events/targets/{name}/pause[?until=RFC3339]   pause (default: until resumed)
//	POST /admin/events/targets/{name}/resume            resume
//	GET  /admin/events/targets/{name}/dead-letters[?limit=N]  list dead letters, oldest first
//	POST /admin/events/targets/{name}/redrive           body {"seqs":[1,2]} or {"all":true}
//	POST /admin/events/targets/{name}/test?bucket=B     send an s3:TestEvent
//
// Answers are JSON. Errors are {"error": "..."} with 404 for an unknown
// target or dead letter, 400 for a bad request, 502 when JetStream fails.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
)

// Prefix is the path prefix of every route.
const Prefix = "/admin/events/"

// maxRequestBody bounds request bodies.
const maxRequestBody = 1 << 20

// Service is what the handlers need; *deliver.Deliverer implements it.
type Service interface {
	Targets(ctx context.Context) ([]deliver.Status, error)
	Status(ctx context.Context, name string) (deliver.Status, error)
	Pause(ctx context.Context, name string, until time.Time) (deliver.Status, error)
	Resume(ctx context.Context, name string) (deliver.Status, error)
	DeadLetters(ctx context.Context, name string, limit int) ([]deliver.DeadLetter, error)
	Redrive(ctx context.Context, name string, seqs []uint64) (int, error)
	RedriveAll(ctx context.Context, name string) (int, error)
	SendTestEvent(ctx context.Context, name, bucket string) (string, error)
}

var _ Service = (*deliver.Deliverer)(nil)

// Mounter mounts one route; the process's health.Admin implements it.
type Mounter interface {
	Handle(pattern string, h http.Handler) error
}

// RedriveRequest is the body of a redrive.
type RedriveRequest struct {
	// Seqs are the dead letters to redrive.
	Seqs []uint64 `json:"seqs,omitempty"`
	// All redrives every dead letter of the target.
	All bool `json:"all,omitempty"`
}

// RedriveResponse answers a redrive.
type RedriveResponse struct {
	Redriven int `json:"redriven"`
}

// TestEventResponse answers a test event request.
type TestEventResponse struct {
	ID string `json:"id"`
}

// errorResponse is the body of every error answer.
type errorResponse struct {
	Error string `json:"error"`
}

// routes lists every route with its handler maker.
func routes(svc Service, log *zap.Logger) map[string]http.HandlerFunc {
	h := &handlers{svc: svc, log: log}
	return map[string]http.HandlerFunc{
		"GET " + Prefix + "targets":                     h.targets,
		"GET " + Prefix + "targets/{name}":              h.status,
		"POST " + Prefix + "targets/{name}/pause":       h.pause,
		"POST " + Prefix + "targets/{name}/resume":      h.resume,
		"GET " + Prefix + "targets/{name}/dead-letters": h.deadLetters,
		"POST " + Prefix + "targets/{name}/redrive":     h.redrive,
		"POST " + Prefix + "targets/{name}/test":        h.test,
	}
}

// Mount mounts every route on m. It returns m's first error.
func Mount(m Mounter, svc Service, log *zap.Logger) error {
	for pattern, h := range routes(svc, orNop(log)) {
		if err := m.Handle(pattern, h); err != nil {
			return fmt.Errorf("admin: mount %s: %w", pattern, err)
		}
	}
	return nil
}

// NewHandler returns an http.Handler serving every route (for a listener
// of its own, or tests).
func NewHandler(svc Service, log *zap.Logger) http.Handler {
	mux := http.NewServeMux()
	for pattern, h := range routes(svc, orNop(log)) {
		mux.HandleFunc(pattern, h)
	}
	return mux
}

func orNop(log *zap.Logger) *zap.Logger {
	if log == nil {
		return zap.NewNop()
	}
	return log
}

type handlers struct {
	svc Service
	log *zap.Logger
}

func (h *handlers) targets(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.Targets(r.Context())
	h.reply(w, r, st, err)
}

func (h *handlers) status(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.Status(r.Context(), r.PathValue("name"))
	h.reply(w, r, st, err)
}

func (h *handlers) pause(w http.ResponseWriter, r *http.Request) {
	var until time.Time
	if v := r.URL.Query().Get("until"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			h.fail(w, r, http.StatusBadRequest, fmt.Errorf("until: %w", err))
			return
		}
		until = t
	}
	st, err := h.svc.Pause(r.Context(), r.PathValue("name"), until)
	h.reply(w, r, st, err)
}

func (h *handlers) resume(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.Resume(r.Context(), r.PathValue("name"))
	h.reply(w, r, st, err)
}

func (h *handlers) deadLetters(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			h.fail(w, r, http.StatusBadRequest, fmt.Errorf("limit %q is not a non-negative integer", v))
			return
		}
		limit = n
	}
	dls, err := h.svc.DeadLetters(r.Context(), r.PathValue("name"), limit)
	if dls == nil {
		dls = []deliver.DeadLetter{}
	}
	h.reply(w, r, dls, err)
}

func (h *handlers) redrive(w http.ResponseWriter, r *http.Request) {
	var req RedriveRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("body: %w", err))
		return
	}
	if req.All == (len(req.Seqs) > 0) {
		h.fail(w, r, http.StatusBadRequest, errors.New(`give either "seqs" or "all": true`))
		return
	}
	var (
		n   int
		err error
	)
	if req.All {
		n, err = h.svc.RedriveAll(r.Context(), r.PathValue("name"))
	} else {
		n, err = h.svc.Redrive(r.Context(), r.PathValue("name"), req.Seqs)
	}
	if err != nil && n > 0 {
		h.log.Warn("redrive stopped part way", zap.Int("redriven", n), zap.Error(err))
	}
	h.reply(w, r, RedriveResponse{Redriven: n}, err)
}

func (h *handlers) test(w http.ResponseWriter, r *http.Request) {
	bucket := r.URL.Query().Get("bucket")
	if bucket == "" {
		h.fail(w, r, http.StatusBadRequest, errors.New("bucket query parameter is required"))
		return
	}
	id, err := h.svc.SendTestEvent(r.Context(), r.PathValue("name"), bucket)
	h.reply(w, r, TestEventResponse{ID: id}, err)
}

// reply writes v as JSON, or err with its status.
func (h *handlers) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		h.log.Debug("admin: write answer", zap.Error(err))
	}
}

func (h *handlers) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	if code >= 500 {
		h.log.Warn("admin request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorResponse{Error: err.Error()})
}

// statusOf maps an error to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, deliver.ErrUnknownTarget), errors.Is(err, bus.ErrDeadLetterNotFound),
		errors.Is(err, jetstream.ErrConsumerNotFound):
		return http.StatusNotFound
	case errors.Is(err, deliver.ErrInvalidSubscription), errors.Is(err, bus.ErrInvalidName):
		return http.StatusBadRequest
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}
