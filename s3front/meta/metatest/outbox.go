package metatest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/sluice-io/sluice/s3front/meta"
)

// events returns an EventFunc emitting n messages per change, ids derived from the
// sequencer.
func events(n int) meta.EventFunc {
	return func(_ context.Context, ch meta.Change) ([]meta.OutboxMsg, error) {
		var out []meta.OutboxMsg
		for i := range n {
			out = append(out, meta.OutboxMsg{
				ID:      fmt.Sprintf("%s-%d", ch.Object.Sequencer, i),
				Subject: "sluice.test." + string(ch.Kind),
				Headers: map[string][]string{"ce-id": {ch.Object.Sequencer}, "ce-versionid": {ch.Object.VersionID}, "multi": {"a", "b"}},
				Body:    []byte(ch.Object.Key),
			})
		}
		return out, nil
	}
}

func drainNotify(s meta.Store) bool {
	select {
	case <-s.OutboxNotify():
		return true
	default:
		return false
	}
}

func testOutboxAtomic(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "ob", meta.VersioningEnabled)
	drainNotify(s)
	if st := try(s.OutboxStats(ctx)).must(t); st.Pending != 0 || !st.Oldest.IsZero() {
		t.Fatalf("stats on empty = %+v", st)
	}
	p := try(s.PutObject(ctx, obj("ob", "k"), events(2))).must(t)
	if !drainNotify(s) {
		t.Fatal("OutboxNotify not signalled after a commit with outbox rows")
	}
	try(s.PutObject(ctx, obj("ob", "quiet"), nil)).must(t)
	if drainNotify(s) {
		t.Fatal("OutboxNotify signalled without outbox rows")
	}
	d := try(s.DeleteObject(ctx, "ob", "k", "", events(1))).must(t)
	tg := try(s.PutObjectTags(ctx, "ob", "k", p.Object.VersionID, map[string]string{"a": "b"}, events(1))).must(t)
	rows := try(s.OutboxPending(ctx, 100)).must(t)
	wantIDs := []string{p.Object.Sequencer + "-0", p.Object.Sequencer + "-1", d.Object.Sequencer + "-0", tg.Sequencer + "-0"}
	if len(rows) != len(wantIDs) {
		t.Fatalf("pending = %+v", rows)
	}
	for i, r := range rows {
		if r.ID != wantIDs[i] {
			t.Fatalf("row %d id %q, want %q", i, r.ID, wantIDs[i])
		}
		if i > 0 && r.RowID <= rows[i-1].RowID {
			t.Fatalf("RowIDs not increasing: %d then %d", rows[i-1].RowID, r.RowID)
		}
		if r.CreatedAt.IsZero() || string(r.Body) != "k" {
			t.Fatalf("row %+v", r)
		}
	}
	if !reflect.DeepEqual(rows[0].Headers, map[string][]string{"ce-id": {p.Object.Sequencer}, "ce-versionid": {p.Object.VersionID}, "multi": {"a", "b"}}) {
		t.Fatalf("headers = %v", rows[0].Headers)
	}
	if rows[0].Subject != "sluice.test.Created" || rows[2].Subject != "sluice.test.DeleteMarkerCreated" || rows[3].Subject != "sluice.test.TagsPut" {
		t.Fatalf("subjects: %s %s %s", rows[0].Subject, rows[2].Subject, rows[3].Subject)
	}
	if st := try(s.OutboxStats(ctx)).must(t); st.Pending != 4 || !st.Oldest.Equal(rows[0].CreatedAt) {
		t.Fatalf("stats = %+v", st)
	}
	if got := try(s.OutboxPending(ctx, 2)).must(t); len(got) != 2 || got[1].RowID != rows[1].RowID {
		t.Fatalf("limit 2 = %+v", got)
	}
	noErr(t, s.OutboxDelete(ctx, rows[1].RowID, rows[3].RowID, 1<<40))
	noErr(t, s.OutboxDelete(ctx))
	left := try(s.OutboxPending(ctx, 100)).must(t)
	if len(left) != 2 || left[0].RowID != rows[0].RowID || left[1].RowID != rows[2].RowID {
		t.Fatalf("after delete = %+v", left)
	}
	// Row ids keep growing after deletes.
	noErr(t, s.OutboxDelete(ctx, left[0].RowID, left[1].RowID))
	try(s.PutObject(ctx, obj("ob", "k2"), events(1))).must(t)
	if r := try(s.OutboxPending(ctx, 10)).must(t); len(r) != 1 || r[0].RowID <= rows[3].RowID {
		t.Fatalf("row id reused: %+v", r)
	}
}

func testOutboxRollback(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "rb", meta.VersioningEnabled)
	boom := errors.New("boom")
	failing := func(context.Context, meta.Change) ([]meta.OutboxMsg, error) { return nil, boom }
	invalid := func(context.Context, meta.Change) ([]meta.OutboxMsg, error) {
		return []meta.OutboxMsg{{ID: "ok", Subject: "s"}, {ID: "", Subject: "s"}}, nil
	}
	base := try(s.PutObject(ctx, obj("rb", "k"), events(1))).must(t)
	u := try(s.CreateUpload(ctx, meta.Upload{Bucket: "rb", Key: "k"})).must(t)
	try(s.PutPart(ctx, "rb", "k", u.ID, part(1, "u1"))).must(t)
	drainNotify(s)

	tests := []struct {
		name string
		fn   meta.EventFunc
		err  error
	}{{"failing", failing, boom}, {"invalid message", invalid, meta.ErrInvalidArgument}}
	for _, tc := range tests {
		ops := map[string]func() error{
			"put": func() error { _, err := s.PutObject(ctx, obj("rb", "k"), tc.fn); return err },
			"put new key": func() error {
				_, err := s.PutObject(ctx, obj("rb", "new"), tc.fn)
				return err
			},
			"delete marker": func() error { _, err := s.DeleteObject(ctx, "rb", "k", "", tc.fn); return err },
			"delete version": func() error {
				_, err := s.DeleteObject(ctx, "rb", "k", base.Object.VersionID, tc.fn)
				return err
			},
			"tags": func() error {
				_, err := s.PutObjectTags(ctx, "rb", "k", "", map[string]string{"x": "y"}, tc.fn)
				return err
			},
			"delete tags": func() error { _, err := s.DeleteObjectTags(ctx, "rb", "k", "", tc.fn); return err },
			"complete": func() error {
				_, err := s.CompleteUpload(ctx, u.ID, meta.Object{Bucket: "rb", Key: "k", Parts: []meta.Part{part(1, "")}}, tc.fn)
				return err
			},
		}
		for name, op := range ops {
			if err := op(); !errors.Is(err, tc.err) {
				t.Fatalf("%s/%s: error %v, want %v", tc.name, name, err, tc.err)
			}
		}
	}
	// Nothing changed.
	vs := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "rb", MaxKeys: 100})).must(t)
	if len(vs.Versions) != 1 || vs.Versions[0].VersionID != base.Object.VersionID || vs.Versions[0].Sequencer != base.Object.Sequencer ||
		len(vs.Versions[0].Tags) != 0 {
		t.Fatalf("versions after rolled-back mutations = %+v", vs.Versions)
	}
	try(s.GetUpload(ctx, "rb", "k", u.ID)).must(t)
	if r := try(s.ListParts(ctx, "rb", "k", u.ID, 0, 10)).must(t); len(r.Parts) != 1 {
		t.Fatalf("parts = %+v", r.Parts)
	}
	rows := try(s.OutboxPending(ctx, 100)).must(t)
	if len(rows) != 1 || rows[0].ID != base.Object.Sequencer+"-0" {
		t.Fatalf("outbox after rollbacks = %+v", rows)
	}
	if drainNotify(s) {
		t.Fatal("OutboxNotify signalled for rolled-back transactions")
	}
}

func testOutboxClaim(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "oc", "")
	called := false
	n, err := s.OutboxClaim(ctx, 10, func(context.Context, []meta.OutboxRow) ([]int64, error) { called = true; return nil, nil })
	if n != 0 || err != nil || called {
		t.Fatalf("claim on empty outbox: n=%d err=%v called=%v", n, err, called)
	}
	for i := range 5 {
		try(s.PutObject(ctx, obj("oc", fmt.Sprint("k", i)), events(1))).must(t)
	}
	all := try(s.OutboxPending(ctx, 10)).must(t)
	// Ack two of three claimed rows, then fail.
	boom := errors.New("publish failed")
	n, err = s.OutboxClaim(ctx, 3, func(_ context.Context, rows []meta.OutboxRow) ([]int64, error) {
		if len(rows) != 3 || rows[0].RowID != all[0].RowID || rows[2].RowID != all[2].RowID {
			t.Errorf("claimed %+v", rows)
		}
		return []int64{rows[0].RowID, rows[1].RowID}, boom
	})
	if n != 3 || !errors.Is(err, boom) {
		t.Fatalf("claim: n=%d err=%v", n, err)
	}
	left := try(s.OutboxPending(ctx, 10)).must(t)
	if len(left) != 3 || left[0].RowID != all[2].RowID {
		t.Fatalf("left = %+v", left)
	}
	n, err = s.OutboxClaim(ctx, 10, func(_ context.Context, rows []meta.OutboxRow) ([]int64, error) {
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.RowID
		}
		return ids, nil
	})
	if n != 3 || err != nil {
		t.Fatalf("claim rest: n=%d err=%v", n, err)
	}
	if st := try(s.OutboxStats(ctx)).must(t); st.Pending != 0 {
		t.Fatalf("pending = %d", st.Pending)
	}
}

func testOutboxConcurrentClaims(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "occ", "")
	const total = 60
	for i := range total {
		try(s.PutObject(ctx, obj("occ", fmt.Sprint("k", i)), events(1))).must(t)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
		errs = make(chan error, 4)
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := s.OutboxClaim(ctx, 5, func(_ context.Context, rows []meta.OutboxRow) ([]int64, error) {
					ids := make([]int64, len(rows))
					mu.Lock()
					for i, r := range rows {
						seen[r.ID]++
						ids[i] = r.RowID
					}
					mu.Unlock()
					return ids, nil
				})
				if err != nil {
					errs <- err
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("delivered %d distinct rows, want %d", len(seen), total)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("row %s delivered %d times", id, c)
		}
	}
}

// testConcurrentEventFailures runs concurrent mutations of which some fail in
// their EventFunc: a store that commits concurrent transactions together must
// still roll back exactly the failed ones, with their outbox rows, and commit
// the others with theirs.
func testConcurrentEventFailures(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "cef", meta.VersioningEnabled)
	drainNotify(s)
	const writers, each = 8, 12
	boom := errors.New("boom")
	failing := func(context.Context, meta.Change) ([]meta.OutboxMsg, error) { return nil, boom }
	var (
		mu      sync.Mutex
		wantIDs = map[string]bool{} // outbox ids of committed changes
		okKeys  = map[string]bool{}
		errs    []error
		wg      sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := fmt.Sprintf("w%d/k%d", w, i)
				fail := (w+i)%3 == 0
				fn := events(1)
				if fail {
					fn = failing
				}
				r, err := s.PutObject(ctx, obj("cef", key), fn)
				mu.Lock()
				switch {
				case fail && !errors.Is(err, boom):
					errs = append(errs, fmt.Errorf("%s: error %v, want boom", key, err))
				case !fail && err != nil:
					errs = append(errs, fmt.Errorf("%s: %w", key, err))
				case !fail:
					okKeys[key] = true
					wantIDs[r.Object.Sequencer+"-0"] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("puts: %v", errs)
	}
	list := try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "cef", MaxKeys: 1000})).must(t)
	got := map[string]bool{}
	for _, o := range list.Objects {
		got[o.Key] = true
	}
	if !reflect.DeepEqual(got, okKeys) {
		t.Fatalf("stored keys = %v\nwant %v", got, okKeys)
	}
	rows := try(s.OutboxPending(ctx, 1000)).must(t)
	gotIDs := map[string]bool{}
	for i, r := range rows {
		gotIDs[r.ID] = true
		if i > 0 && r.RowID <= rows[i-1].RowID {
			t.Fatalf("outbox rows out of order: %+v", rows)
		}
	}
	if !reflect.DeepEqual(gotIDs, wantIDs) {
		t.Fatalf("outbox ids = %v\nwant %v", gotIDs, wantIDs)
	}
	if !drainNotify(s) {
		t.Fatal("OutboxNotify not signalled")
	}
}
