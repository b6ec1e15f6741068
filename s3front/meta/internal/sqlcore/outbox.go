package sqlcore

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/s3front/meta"
)

const outboxCols = `id, event_id, subject, headers, body, created_at`

func (s *Store) queryOutbox(ctx context.Context, tx Tx, limit int, mode LockMode) ([]meta.OutboxRow, error) {
	rows, err := tx.Query(ctx, `SELECT `+outboxCols+` FROM outbox ORDER BY id LIMIT ?`+s.lockClause(mode), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.OutboxRow
	for rows.Next() {
		var (
			r       meta.OutboxRow
			headers string
			created int64
		)
		if err := rows.Scan(&r.RowID, &r.ID, &r.Subject, &headers, &r.Body, &created); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMicros(created)
		if r.Headers, err = decodeHeaders(headers); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OutboxPending implements meta.OutboxStore.
func (s *Store) OutboxPending(ctx context.Context, limit int) ([]meta.OutboxRow, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []meta.OutboxRow
	err := s.readOne(ctx, "outbox pending", func(tx Tx) error {
		var err error
		out, err = s.queryOutbox(ctx, tx, limit, LockNone)
		return err
	})
	return out, err
}

func deleteOutbox(ctx context.Context, tx Tx, ids []int64) error {
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		q := `DELETE FROM outbox WHERE id IN (?` + strings.Repeat(`, ?`, n-1) + `)`
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// OutboxDelete implements meta.OutboxStore.
func (s *Store) OutboxDelete(ctx context.Context, rowIDs ...int64) error {
	if len(rowIDs) == 0 {
		return nil
	}
	return s.write(ctx, "outbox delete", func(tx Tx, _ *txState) error {
		return deleteOutbox(ctx, tx, rowIDs)
	})
}

// OutboxClaim implements meta.OutboxStore.
func (s *Store) OutboxClaim(ctx context.Context, limit int, h meta.OutboxHandler) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	if s.b.ClaimInTx() {
		return s.claimInTx(ctx, limit, h)
	}
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	rows, err := s.relayPending(ctx, limit)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	acked, herr := h(ctx, rows)
	if err := s.relayDelete(context.WithoutCancel(ctx), acked); err != nil {
		return len(rows), fmt.Errorf("meta: outbox claim: delete acked rows: %w", err)
	}
	return len(rows), herr
}

// relayPending is OutboxPending on the backend's relay lane when it has one.
func (s *Store) relayPending(ctx context.Context, limit int) ([]meta.OutboxRow, error) {
	lane, ok := s.b.(RelayLane)
	if !ok {
		return s.OutboxPending(ctx, limit)
	}
	if s.closed.Load() {
		return nil, meta.ErrClosed
	}
	var out []meta.OutboxRow
	err := lane.RelayRead(ctx, func(tx Tx) error {
		var err error
		out, err = s.queryOutbox(ctx, tx, limit, LockNone)
		return err
	})
	return out, wrap("outbox pending", err)
}

// relayDelete is OutboxDelete on the backend's relay lane when it has one.
func (s *Store) relayDelete(ctx context.Context, ids []int64) error {
	lane, ok := s.b.(RelayLane)
	if !ok {
		return s.OutboxDelete(ctx, ids...)
	}
	if len(ids) == 0 {
		return nil
	}
	if s.closed.Load() {
		return meta.ErrClosed
	}
	return wrap("outbox delete", lane.RelayWrite(ctx, func(tx Tx) error { return deleteOutbox(ctx, tx, ids) }))
}

// claimInTx holds the claimed rows locked (SKIP LOCKED) while h runs.
func (s *Store) claimInTx(ctx context.Context, limit int, h meta.OutboxHandler) (int, error) {
	var (
		n    int
		herr error
	)
	err := s.write(ctx, "outbox claim", func(tx Tx, _ *txState) error {
		n, herr = 0, nil
		rows, err := s.queryOutbox(ctx, tx, limit, LockSkipLocked)
		if err != nil || len(rows) == 0 {
			return err
		}
		n = len(rows)
		var acked []int64
		acked, herr = h(ctx, rows)
		return deleteOutbox(ctx, tx, acked)
	})
	if err != nil {
		return n, err
	}
	return n, herr
}

// OutboxStats implements meta.OutboxStore.
func (s *Store) OutboxStats(ctx context.Context) (meta.OutboxStats, error) {
	var st meta.OutboxStats
	err := s.readOne(ctx, "outbox stats", func(tx Tx) error {
		var oldest int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM outbox`).Scan(&st.Pending, &oldest); err != nil {
			return err
		}
		if st.Pending > 0 {
			st.Oldest = fromMicros(oldest)
		}
		return nil
	})
	return st, err
}

// OutboxNotify implements meta.OutboxStore.
func (s *Store) OutboxNotify() <-chan struct{} { return s.notify }
