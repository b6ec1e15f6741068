package metatest

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

var seqRE = regexp.MustCompile(`^[0-9A-F]{16}$`)

func checkSeq(t *testing.T, o meta.Object) {
	t.Helper()
	if !seqRE.MatchString(o.Sequencer) {
		t.Fatalf("Sequencer %q is not 16 upper-case hex digits", o.Sequencer)
	}
}

func testPutGetUnversioned(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "u", "")
	_, err := s.PutObject(ctx, obj("nope", "k"), nil)
	wantErr(t, err, meta.ErrNoSuchBucket)
	_, err = s.PutObject(ctx, obj("u", ""), nil)
	wantErr(t, err, meta.ErrInvalidArgument)
	_, err = s.GetObject(ctx, "nope", "k", "")
	wantErr(t, err, meta.ErrNoSuchBucket)
	_, err = s.GetObject(ctx, "u", "k", "")
	wantErr(t, err, meta.ErrNoSuchKey)

	r1 := put(t, s, "u", "k")
	if r1.Object.VersionID != meta.NullVersion || !r1.Object.IsLatest || len(r1.Displaced) != 0 {
		t.Fatalf("first put = %+v", r1)
	}
	checkSeq(t, r1.Object)
	if r1.Object.LastModified.IsZero() {
		t.Fatal("LastModified not set")
	}
	got := try(s.GetObject(ctx, "u", "k", "")).must(t)
	if got.DataKey != r1.Object.DataKey || got.Sequencer != r1.Object.Sequencer {
		t.Fatalf("get = %+v, want %+v", got, r1.Object)
	}
	got = try(s.GetObject(ctx, "u", "k", meta.NullVersion)).must(t)
	if got.DataKey != r1.Object.DataKey {
		t.Fatalf("get null = %+v", got)
	}
	_, err = s.GetObject(ctx, "u", "k", "0000000000000001ABCDEF01")
	wantErr(t, err, meta.ErrNoSuchVersion)

	r2 := put(t, s, "u", "k")
	if want := []meta.DataRef{{Location: "local", Key: r1.Object.DataKey}}; !refsEqual(r2.Displaced, want) {
		t.Fatalf("Displaced = %v, want %v", r2.Displaced, want)
	}
	if r2.Object.Sequencer <= r1.Object.Sequencer {
		t.Fatalf("sequencer did not increase: %s then %s", r1.Object.Sequencer, r2.Object.Sequencer)
	}
	vs := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "u", MaxKeys: 100})).must(t)
	if len(vs.Versions) != 1 || vs.Versions[0].DataKey != r2.Object.DataKey {
		t.Fatalf("versions after replace = %+v", vs.Versions)
	}

	// Rewriting with the same data key displaces nothing.
	o := obj("u", "k")
	o.DataKey = r2.Object.DataKey
	r3 := try(s.PutObject(ctx, o, nil)).must(t)
	if len(r3.Displaced) != 0 {
		t.Fatalf("same data key displaced %v", r3.Displaced)
	}

	d := try(s.DeleteObject(ctx, "u", "k", "", nil)).must(t)
	if d.Kind != meta.ChangeDeleted || d.DeleteMarker || d.VersionID != meta.NullVersion ||
		!refsEqual(d.Displaced, []meta.DataRef{{Location: "local", Key: o.DataKey}}) {
		t.Fatalf("delete = %+v", d)
	}
	checkSeq(t, d.Object)
	if d.Object.Sequencer <= r3.Object.Sequencer {
		t.Fatalf("delete sequencer %s not after %s", d.Object.Sequencer, r3.Object.Sequencer)
	}
	_, err = s.GetObject(ctx, "u", "k", "")
	wantErr(t, err, meta.ErrNoSuchKey)
	var dm *meta.DeleteMarkerError
	if errors.As(err, &dm) {
		t.Fatal("unversioned delete must not leave a delete marker")
	}
}

func testFieldsRoundTrip(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "f", "")
	lm := time.Date(2023, 1, 2, 3, 4, 5, 678901000, time.UTC)
	in := meta.Object{
		Bucket: "f", Key: "dir/ファイル.txt", Size: 1 << 40, ETag: "0123456789abcdef0123456789abcdef-3",
		ContentType: "application/json",
		Headers: map[string]string{"Content-Encoding": "gzip", "Cache-Control": "no-cache", "Expires": "Wed, 21 Oct 2015 07:28:00 GMT",
			"x-amz-website-redirect-location": "/other"},
		UserMetadata: map[string]string{"color": "blue", "ünï": "cödé"},
		Tags:         map[string]string{"team": "a", "env": "prod"},
		Checksums:    map[string]string{"CRC32C": "yZRlqg==", "SHA256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		StorageClass: "STANDARD_IA", Location: "cold", DataKey: "data/1", Owner: "alice",
		LastModified:      lm,
		ReplicationStatus: "PENDING", Replication: map[string]string{"west": "PENDING", "gcs": "COMPLETED"},
		PartsCount: 3,
		Parts: []meta.Part{
			{PartNumber: 1, Size: 5 << 20, ETag: "aa", DataKey: "data/1"},
			{PartNumber: 2, Size: 5 << 20, ETag: "bb", Checksums: map[string]string{"CRC32C": "AAAAAA=="}, Location: "other", DataKey: "p/2", LastModified: lm},
			{PartNumber: 3, Size: 1, ETag: "cc", DataKey: "p/3"},
		},
		// Ignored: the store assigns these.
		VersionID: "mine", Sequencer: "FFFF", IsDeleteMarker: true,
	}
	res := try(s.PutObject(ctx, in, nil)).must(t)
	got := try(s.GetObject(ctx, "f", in.Key, "")).must(t)
	want := in
	want.VersionID, want.IsLatest, want.IsDeleteMarker, want.Sequencer = meta.NullVersion, true, false, res.Object.Sequencer
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(res.Object, want) {
		t.Fatalf("PutResult.Object:\n got %+v\nwant %+v", res.Object, want)
	}
	l := try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "f", MaxKeys: 10})).must(t)
	if len(l.Objects) != 1 || !reflect.DeepEqual(l.Objects[0], want) {
		t.Fatalf("ListObjects object:\n got %+v\nwant %+v", l.Objects, want)
	}
	// Displacing a multipart object returns all its data.
	r2 := put(t, s, "f", in.Key)
	wantRefs := []meta.DataRef{{Location: "cold", Key: "data/1"}, {Location: "other", Key: "p/2"}, {Location: "cold", Key: "p/3"}}
	if !refsEqual(r2.Displaced, wantRefs) {
		t.Fatalf("Displaced = %v, want %v", r2.Displaced, wantRefs)
	}
}

func testVersioned(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "v", meta.VersioningEnabled)
	var puts []meta.PutResult
	for range 3 {
		puts = append(puts, put(t, s, "v", "k"))
	}
	seen := map[string]bool{}
	for i, p := range puts {
		if p.Object.VersionID == meta.NullVersion || p.Object.VersionID == "" || seen[p.Object.VersionID] {
			t.Fatalf("put %d version id %q not unique", i, p.Object.VersionID)
		}
		seen[p.Object.VersionID] = true
		if len(p.Displaced) != 0 {
			t.Fatalf("versioned put displaced %v", p.Displaced)
		}
		if i > 0 && p.Object.VersionID <= puts[i-1].Object.VersionID {
			t.Fatalf("version ids not in creation order: %q then %q", puts[i-1].Object.VersionID, p.Object.VersionID)
		}
	}
	latest := try(s.GetObject(ctx, "v", "k", "")).must(t)
	if latest.VersionID != puts[2].Object.VersionID || !latest.IsLatest {
		t.Fatalf("latest = %+v", latest)
	}
	for i, p := range puts {
		got := try(s.GetObject(ctx, "v", "k", p.Object.VersionID)).must(t)
		if got.DataKey != p.Object.DataKey || got.IsLatest != (i == 2) {
			t.Fatalf("version %d = %+v", i, got)
		}
	}
	_, err := s.GetObject(ctx, "v", "k", meta.NullVersion)
	wantErr(t, err, meta.ErrNoSuchVersion)
	_, err = s.GetObject(ctx, "v", "other", puts[0].Object.VersionID)
	wantErr(t, err, meta.ErrNoSuchVersion)

	// Deleting a noncurrent version keeps the latest.
	d := try(s.DeleteObject(ctx, "v", "k", puts[1].Object.VersionID, nil)).must(t)
	if d.Kind != meta.ChangeDeleted || d.VersionID != puts[1].Object.VersionID || d.DeleteMarker ||
		!refsEqual(d.Displaced, []meta.DataRef{{Location: "local", Key: puts[1].Object.DataKey}}) {
		t.Fatalf("delete noncurrent = %+v", d)
	}
	if got := try(s.GetObject(ctx, "v", "k", "")).must(t); got.VersionID != puts[2].Object.VersionID {
		t.Fatalf("latest after deleting noncurrent = %s", got.VersionID)
	}
	// Deleting the latest version promotes the next newest.
	try(s.DeleteObject(ctx, "v", "k", puts[2].Object.VersionID, nil)).must(t)
	got := try(s.GetObject(ctx, "v", "k", "")).must(t)
	if got.VersionID != puts[0].Object.VersionID || !got.IsLatest {
		t.Fatalf("promoted = %+v", got)
	}
	vs := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "v", MaxKeys: 100})).must(t)
	if len(vs.Versions) != 1 || !vs.Versions[0].IsLatest {
		t.Fatalf("versions = %+v", vs.Versions)
	}
}

func testDeleteMarkers(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "dm", meta.VersioningEnabled)
	p := put(t, s, "dm", "k")
	d := try(s.DeleteObject(ctx, "dm", "k", "", nil)).must(t)
	if d.Kind != meta.ChangeDeleteMarkerCreated || !d.DeleteMarker || d.VersionID == "" || d.VersionID == meta.NullVersion ||
		len(d.Displaced) != 0 || !d.Object.IsDeleteMarker || !d.Object.IsLatest {
		t.Fatalf("delete = %+v", d)
	}
	checkSeq(t, d.Object)

	_, err := s.GetObject(ctx, "dm", "k", "")
	wantErr(t, err, meta.ErrNoSuchKey)
	wantErr(t, err, meta.ErrDeleteMarker)
	var dm *meta.DeleteMarkerError
	if !errors.As(err, &dm) || dm.VersionID != d.VersionID || dm.Explicit {
		t.Fatalf("latest marker error = %#v", err)
	}
	_, err = s.GetObject(ctx, "dm", "k", d.VersionID)
	wantErr(t, err, meta.ErrDeleteMarker)
	if errors.Is(err, meta.ErrNoSuchKey) {
		t.Fatal("explicit delete marker version must not match ErrNoSuchKey")
	}
	if !errors.As(err, &dm) || !dm.Explicit || dm.VersionID != d.VersionID {
		t.Fatalf("explicit marker error = %#v", err)
	}
	// The old version is still readable by id.
	if got := try(s.GetObject(ctx, "dm", "k", p.Object.VersionID)).must(t); got.IsLatest {
		t.Fatal("version under a marker must not be latest")
	}
	// A second delete stacks another marker.
	d2 := try(s.DeleteObject(ctx, "dm", "k", "", nil)).must(t)
	if d2.VersionID == d.VersionID {
		t.Fatal("second marker reused the version id")
	}
	// Removing the newest marker makes the older marker latest: still deleted.
	r := try(s.DeleteObject(ctx, "dm", "k", d2.VersionID, nil)).must(t)
	if r.Kind != meta.ChangeDeleted || !r.DeleteMarker || len(r.Displaced) != 0 {
		t.Fatalf("delete marker removal = %+v", r)
	}
	_, err = s.GetObject(ctx, "dm", "k", "")
	wantErr(t, err, meta.ErrDeleteMarker)
	// Removing the last marker restores the object.
	try(s.DeleteObject(ctx, "dm", "k", d.VersionID, nil)).must(t)
	if got := try(s.GetObject(ctx, "dm", "k", "")).must(t); got.VersionID != p.Object.VersionID || !got.IsLatest {
		t.Fatalf("restored = %+v", got)
	}
}

func testSuspended(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "s", meta.VersioningEnabled)
	v1 := put(t, s, "s", "k")
	noErr(t, s.SetVersioning(ctx, "s", meta.VersioningSuspended))
	n1 := put(t, s, "s", "k")
	if n1.Object.VersionID != meta.NullVersion || len(n1.Displaced) != 0 {
		t.Fatalf("suspended put = %+v", n1)
	}
	n2 := put(t, s, "s", "k")
	if !refsEqual(n2.Displaced, []meta.DataRef{{Location: "local", Key: n1.Object.DataKey}}) {
		t.Fatalf("second suspended put displaced %v", n2.Displaced)
	}
	if got := try(s.GetObject(ctx, "s", "k", v1.Object.VersionID)).must(t); got.IsLatest || got.DataKey != v1.Object.DataKey {
		t.Fatalf("enabled-era version = %+v", got)
	}
	vs := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "s", MaxKeys: 100})).must(t)
	if len(vs.Versions) != 2 || vs.Versions[0].VersionID != meta.NullVersion || vs.Versions[1].VersionID != v1.Object.VersionID {
		t.Fatalf("versions = %+v", vs.Versions)
	}
	// Delete under Suspended: a "null" delete marker replaces the null version.
	d := try(s.DeleteObject(ctx, "s", "k", "", nil)).must(t)
	if d.Kind != meta.ChangeDeleteMarkerCreated || d.VersionID != meta.NullVersion || !d.DeleteMarker ||
		!refsEqual(d.Displaced, []meta.DataRef{{Location: "local", Key: n2.Object.DataKey}}) {
		t.Fatalf("suspended delete = %+v", d)
	}
	vs = try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "s", MaxKeys: 100})).must(t)
	if len(vs.Versions) != 2 || !vs.Versions[0].IsDeleteMarker || vs.Versions[0].VersionID != meta.NullVersion || !vs.Versions[0].IsLatest {
		t.Fatalf("versions after delete = %+v", vs.Versions)
	}
	// A put replaces the null delete marker.
	n3 := put(t, s, "s", "k")
	if len(n3.Displaced) != 0 {
		t.Fatalf("replacing a null marker displaced %v", n3.Displaced)
	}
	vs = try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "s", MaxKeys: 100})).must(t)
	if len(vs.Versions) != 2 || vs.Versions[0].IsDeleteMarker || vs.Versions[0].DataKey != n3.Object.DataKey {
		t.Fatalf("versions after put = %+v", vs.Versions)
	}
	// Re-enabling keeps the null version as a noncurrent version.
	noErr(t, s.SetVersioning(ctx, "s", meta.VersioningEnabled))
	v2 := put(t, s, "s", "k")
	vs = try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "s", MaxKeys: 100})).must(t)
	ids := []string{}
	for _, v := range vs.Versions {
		ids = append(ids, v.VersionID)
	}
	if want := []string{v2.Object.VersionID, meta.NullVersion, v1.Object.VersionID}; !equalStrings(ids, want) {
		t.Fatalf("version order = %v, want %v", ids, want)
	}
}

func testUnversionedToEnabled(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "ue", "")
	n := put(t, s, "ue", "k")
	noErr(t, s.SetVersioning(ctx, "ue", meta.VersioningEnabled))
	v := put(t, s, "ue", "k")
	if len(v.Displaced) != 0 || v.Object.VersionID == meta.NullVersion {
		t.Fatalf("enabled put = %+v", v)
	}
	if got := try(s.GetObject(ctx, "ue", "k", meta.NullVersion)).must(t); got.DataKey != n.Object.DataKey || got.IsLatest {
		t.Fatalf("null version = %+v", got)
	}
	d := try(s.DeleteObject(ctx, "ue", "k", meta.NullVersion, nil)).must(t)
	if d.Kind != meta.ChangeDeleted || d.VersionID != meta.NullVersion {
		t.Fatalf("delete null = %+v", d)
	}
	if got := try(s.GetObject(ctx, "ue", "k", "")).must(t); got.VersionID != v.Object.VersionID {
		t.Fatalf("latest = %+v", got)
	}
}

func testDeleteMissing(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "dmu", "")
	mkBucket(t, s, "dmv", meta.VersioningEnabled)
	put(t, s, "dmv", "k")
	calls := 0
	fn := func(context.Context, meta.Change) ([]meta.OutboxMsg, error) { calls++; return nil, nil }
	tests := []struct {
		bucket, key, version string
		want                 meta.ChangeKind
		err                  error
	}{
		{"dmu", "missing", "", meta.ChangeNone, nil},
		{"dmu", "missing", meta.NullVersion, meta.ChangeNone, nil},
		{"dmv", "k", "00000000000000FF12345678", meta.ChangeNone, nil},
		{"dmv", "missing", "", meta.ChangeDeleteMarkerCreated, nil}, // S3 adds a marker anyway
		{"nope", "k", "", meta.ChangeNone, meta.ErrNoSuchBucket},
		{"dmu", "", "", meta.ChangeNone, meta.ErrInvalidArgument},
	}
	wantCalls := 0
	for _, tc := range tests {
		r, err := s.DeleteObject(ctx, tc.bucket, tc.key, tc.version, fn)
		if tc.err != nil {
			wantErr(t, err, tc.err)
			continue
		}
		noErr(t, err)
		if r.Kind != tc.want {
			t.Errorf("DeleteObject(%s, %s, %s).Kind = %q, want %q", tc.bucket, tc.key, tc.version, r.Kind, tc.want)
		}
		if tc.want != meta.ChangeNone {
			wantCalls++
		} else if r.VersionID != "" || len(r.Displaced) != 0 {
			t.Errorf("no-op delete result = %+v", r)
		}
	}
	if calls != wantCalls {
		t.Fatalf("EventFunc called %d times, want %d", calls, wantCalls)
	}
}

func testTags(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "t", meta.VersioningEnabled)
	v1 := put(t, s, "t", "k")
	v2 := put(t, s, "t", "k")
	var changes []meta.Change
	fn := func(_ context.Context, ch meta.Change) ([]meta.OutboxMsg, error) {
		changes = append(changes, ch)
		return nil, nil
	}
	tags := map[string]string{"a": "1", "b": "2"}
	o := try(s.PutObjectTags(ctx, "t", "k", "", tags, fn)).must(t)
	if o.VersionID != v2.Object.VersionID || !reflect.DeepEqual(o.Tags, tags) || o.Sequencer <= v2.Object.Sequencer {
		t.Fatalf("put tags latest = %+v", o)
	}
	if !o.LastModified.Equal(v2.Object.LastModified) {
		t.Fatal("tagging changed LastModified")
	}
	o1 := try(s.PutObjectTags(ctx, "t", "k", v1.Object.VersionID, map[string]string{"old": "yes"}, fn)).must(t)
	if o1.VersionID != v1.Object.VersionID || o1.Sequencer <= o.Sequencer {
		t.Fatalf("put tags by version = %+v", o1)
	}
	if got := try(s.GetObject(ctx, "t", "k", "")).must(t); !reflect.DeepEqual(got.Tags, tags) || got.Sequencer != o.Sequencer {
		t.Fatalf("get after tagging = %+v", got)
	}
	if got := try(s.GetObject(ctx, "t", "k", v1.Object.VersionID)).must(t); got.Tags["old"] != "yes" {
		t.Fatalf("v1 tags = %v", got.Tags)
	}
	od := try(s.DeleteObjectTags(ctx, "t", "k", "", fn)).must(t)
	if len(od.Tags) != 0 || od.Sequencer <= o1.Sequencer {
		t.Fatalf("delete tags = %+v", od)
	}
	if got := try(s.GetObject(ctx, "t", "k", "")).must(t); len(got.Tags) != 0 {
		t.Fatalf("tags after delete = %v", got.Tags)
	}
	kinds := []meta.ChangeKind{}
	for _, ch := range changes {
		kinds = append(kinds, ch.Kind)
		checkSeq(t, ch.Object)
	}
	if want := []meta.ChangeKind{meta.ChangeTagsPut, meta.ChangeTagsPut, meta.ChangeTagsDeleted}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("change kinds = %v, want %v", kinds, want)
	}
	if changes[1].Object.VersionID != v1.Object.VersionID || changes[1].Object.Tags["old"] != "yes" {
		t.Fatalf("change object = %+v", changes[1].Object)
	}

	tests := []struct {
		key, version string
		err          error
	}{
		{"missing", "", meta.ErrNoSuchKey},
		{"k", "00000000000000FF12345678", meta.ErrNoSuchVersion},
	}
	for _, tc := range tests {
		_, err := s.PutObjectTags(ctx, "t", tc.key, tc.version, tags, nil)
		wantErr(t, err, tc.err)
		_, err = s.DeleteObjectTags(ctx, "t", tc.key, tc.version, nil)
		wantErr(t, err, tc.err)
	}
	_, err := s.PutObjectTags(ctx, "nope", "k", "", tags, nil)
	wantErr(t, err, meta.ErrNoSuchBucket)
	d := try(s.DeleteObject(ctx, "t", "k", "", nil)).must(t)
	_, err = s.PutObjectTags(ctx, "t", "k", "", tags, nil)
	wantErr(t, err, meta.ErrNoSuchKey)
	_, err = s.PutObjectTags(ctx, "t", "k", d.VersionID, tags, nil)
	wantErr(t, err, meta.ErrDeleteMarker)
}

func testSequencerIncreasing(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "seq", meta.VersioningEnabled)
	mkBucket(t, s, "seq2", "")
	var seqs []string
	rec := func(_ context.Context, ch meta.Change) ([]meta.OutboxMsg, error) {
		if ch.Object.Key == "k" {
			seqs = append(seqs, ch.Object.Sequencer)
		}
		return nil, nil
	}
	for i := range 20 {
		switch i % 5 {
		case 0, 1:
			try(s.PutObject(ctx, obj("seq", "k"), rec)).must(t)
		case 2:
			try(s.PutObjectTags(ctx, "seq", "k", "", map[string]string{"i": "x"}, rec)).must(t)
		case 3:
			try(s.DeleteObject(ctx, "seq", "k", "", rec)).must(t)
		case 4:
			try(s.PutObject(ctx, obj("seq2", "k"), rec)).must(t) // another bucket, same counter
			try(s.PutObject(ctx, obj("seq", "other"), rec)).must(t)
		}
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("sequencer %d (%s) not after %s", i, seqs[i], seqs[i-1])
		}
	}
	if len(seqs) != 20 {
		t.Fatalf("got %d changes", len(seqs))
	}
}

func testConcurrentPuts(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "cc", meta.VersioningEnabled)
	mkBucket(t, s, "cn", "")
	const workers, each = 4, 10
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		disp []meta.DataRef
		seqs = map[string]bool{}
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for _, b := range []string{"cc", "cn"} {
					r, err := s.PutObject(ctx, obj(b, "hot"), nil)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else {
						if seqs[r.Object.Sequencer] {
							errs = append(errs, errors.New("duplicate sequencer "+r.Object.Sequencer))
						}
						seqs[r.Object.Sequencer] = true
						disp = append(disp, r.Displaced...)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent puts: %v", errs)
	}
	vs := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "cc", MaxKeys: 1000})).must(t)
	latest := 0
	for _, v := range vs.Versions {
		if v.IsLatest {
			latest++
		}
	}
	if len(vs.Versions) != workers*each || latest != 1 || !vs.Versions[0].IsLatest {
		t.Fatalf("versions = %d, latest = %d", len(vs.Versions), latest)
	}
	// Unversioned: one survivor, every other write displaced exactly once.
	vs = try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "cn", MaxKeys: 1000})).must(t)
	if len(vs.Versions) != 1 || len(disp) != workers*each-1 {
		t.Fatalf("unversioned: %d versions, %d displaced", len(vs.Versions), len(disp))
	}
}

func testClosed(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "x", "")
	noErr(t, s.Close())
	noErr(t, s.Close())
	_, err := s.GetBucket(ctx, "x")
	wantErr(t, err, meta.ErrClosed)
	_, err = s.PutObject(ctx, obj("x", "k"), nil)
	wantErr(t, err, meta.ErrClosed)
	wantErr(t, s.Ping(ctx), meta.ErrClosed)
}

func testInvalidText(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "it", meta.VersioningEnabled)
	bad := []string{"", "a\x00b", "\xff\xfe", strings.Repeat("k", 1025)}
	for _, k := range bad {
		_, err := s.PutObject(ctx, obj("it", k), nil)
		wantErr(t, err, meta.ErrInvalidArgument)
		_, err = s.CreateUpload(ctx, meta.Upload{Bucket: "it", Key: k})
		wantErr(t, err, meta.ErrInvalidArgument)
		_, err = s.DeleteObject(ctx, "it", k, "", nil)
		wantErr(t, err, meta.ErrInvalidArgument)
		if k == "" {
			continue
		}
		_, err = s.GetObject(ctx, "it", k, "")
		wantErr(t, err, meta.ErrNoSuchKey)
		_, err = s.GetObject(ctx, "it", "k", k)
		wantErr(t, err, meta.ErrNoSuchVersion)
		_, err = s.GetUpload(ctx, "it", "k", k)
		wantErr(t, err, meta.ErrNoSuchUpload)
		_, err = s.GetBucket(ctx, k)
		wantErr(t, err, meta.ErrNoSuchBucket)
	}
	max := strings.Repeat("k", 1024)
	if r := try(s.PutObject(ctx, obj("it", max), nil)).must(t); r.Object.Key != max {
		t.Fatal("1024-byte key not stored")
	}
	for _, field := range []func(o *meta.Object){
		func(o *meta.Object) { o.ContentType = "text/\xff" },
		func(o *meta.Object) { o.ETag = "\x00" },
		func(o *meta.Object) { o.Owner = "\xc3" },
		func(o *meta.Object) { o.Parts = []meta.Part{{PartNumber: 1, DataKey: "\xff"}} },
	} {
		o := obj("it", "k")
		field(&o)
		_, err := s.PutObject(ctx, o, nil)
		wantErr(t, err, meta.ErrInvalidArgument)
	}
	// Non-UTF-8 map values are stored alike by every backend (JSON replaces them).
	o := obj("it", "k")
	o.UserMetadata = map[string]string{"m": "a\xffb"}
	try(s.PutObject(ctx, o, nil)).must(t)
	if got := try(s.GetObject(ctx, "it", "k", "")).must(t); got.UserMetadata["m"] != "a\uFFFDb" {
		t.Fatalf("metadata = %q", got.UserMetadata["m"])
	}
	for _, in := range []meta.ListObjectsInput{{Prefix: "\xff"}, {Delimiter: "\x00"}, {StartAfter: "\xff"}} {
		in.Bucket, in.MaxKeys = "it", 10
		_, err := s.ListObjects(ctx, in)
		wantErr(t, err, meta.ErrInvalidArgument)
	}
	_, err := s.CreateBucket(ctx, meta.Bucket{Name: "b\xff"})
	wantErr(t, err, meta.ErrInvalidArgument)
	_, err = s.PutObject(ctx, meta.Object{Bucket: "it", Key: "k"}, func(context.Context, meta.Change) ([]meta.OutboxMsg, error) {
		return []meta.OutboxMsg{{ID: "id", Subject: "a.\xff"}}, nil
	})
	wantErr(t, err, meta.ErrInvalidArgument)
}
