package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/e2e/peers"
)

// awsCLIPath is the Debian package's aws-cli v2. It is called by its full path: the
// `aws` on PATH may be an unrelated v1.
const awsCLIPath = "/usr/bin/aws"

// awsCLI runs /usr/bin/aws against one Sluice with an environment that reads no user
// configuration: credentials from variables, empty config and credential files, no
// instance metadata, no pager.
type awsCLI struct {
	t        *testing.T
	dir      string
	endpoint string
	env      []string
}

func newAWSCLI(t *testing.T, s *peers.Server) *awsCLI {
	t.Helper()
	requireProgram(t, awsCLIPath)
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	writeFile(t, config, "")
	writeFile(t, filepath.Join(dir, "credentials"), "")
	env := cleanEnv([]string{"AWS_", "PYTHONPATH", "PYTHONHOME"},
		"AWS_ACCESS_KEY_ID="+s.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+s.SecretKey,
		"AWS_DEFAULT_REGION="+s.Region,
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"HOME="+dir,
	)
	return &awsCLI{t: t, dir: dir, endpoint: s.Endpoint, env: env}
}

// run runs `aws --endpoint-url E args...` in the CLI's directory.
func (a *awsCLI) run(args ...string) runResult {
	a.t.Helper()
	full := append([]string{"--endpoint-url", a.endpoint, "--no-cli-pager"}, args...)
	return runProgram(a.t, 3*time.Minute, a.env, a.dir, awsCLIPath, full...)
}

// must runs the command and fails the test when it does not succeed.
func (a *awsCLI) must(args ...string) string {
	a.t.Helper()
	r := a.run(args...)
	if r.err != nil {
		a.t.Fatalf("aws %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

// mustJSON runs an s3api command with --output json and decodes its output into v.
func (a *awsCLI) mustJSON(v any, args ...string) {
	a.t.Helper()
	out := a.must(append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("aws %s: decode %q: %v", strings.Join(args, " "), out, err)
	}
}

// mustFail runs the command, expects it to fail, and checks that stderr names the S3
// error code.
func (a *awsCLI) mustFail(code string, args ...string) {
	a.t.Helper()
	r := a.run(args...)
	if r.err == nil {
		a.t.Fatalf("aws %s succeeded; want %s\nstdout: %s", strings.Join(args, " "), code, r.stdout)
	}
	if !strings.Contains(r.stderr, code) {
		a.t.Fatalf("aws %s: want %s in stderr, got: %s", strings.Join(args, " "), code, r.stderr)
	}
}

// path returns a file name inside the CLI's directory.
func (a *awsCLI) path(name string) string { return filepath.Join(a.dir, name) }

// TestAWSCLI drives the aws-cli v2 high-level `s3` commands and the `s3api` multipart
// and versioning commands against one Sluice.
func TestAWSCLI(t *testing.T) {
	skipShort(t)
	requireProgram(t, awsCLIPath)
	s := startSluice(t)
	t.Run("s3", func(t *testing.T) { testAWSCLIS3(t, newAWSCLI(t, s)) })
	t.Run("s3api-multipart", func(t *testing.T) { testAWSCLIMultipart(t, newAWSCLI(t, s)) })
	t.Run("s3api-versioning", func(t *testing.T) { testAWSCLIVersioning(t, newAWSCLI(t, s)) })
}

// lsLine matches one object line of `aws s3 ls`: date, time, size, key.
var lsLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +(\d+) (.+)$`)

// parseLs returns key → size for the object lines and the PRE prefixes of `aws s3 ls`.
func parseLs(out string) (map[string]string, []string) {
	objs := map[string]string{}
	var prefixes []string
	for _, line := range strings.Split(out, "\n") {
		if m := lsLine.FindStringSubmatch(strings.TrimRight(line, "\r")); m != nil {
			objs[m[2]] = m[1]
		} else if p, ok := strings.CutPrefix(strings.TrimSpace(line), "PRE "); ok {
			prefixes = append(prefixes, p)
		}
	}
	return objs, prefixes
}

func testAWSCLIS3(t *testing.T, a *awsCLI) {
	const bucket = "awscli-s3"
	small, big := a.path("small.txt"), a.path("big.bin")
	writeFile(t, small, "hello from the aws cli\n")
	// 20 MiB is above the CLI's 8 MiB multipart threshold: three parts.
	writeRandomFile(t, big, 20<<20, 1)

	if out := a.must("s3", "mb", "s3://"+bucket); !strings.Contains(out, "make_bucket: "+bucket) {
		t.Errorf("s3 mb printed %q", out)
	}
	a.must("s3", "cp", "--only-show-errors", small, "s3://"+bucket+"/dir/small.txt")
	a.must("s3", "cp", "--only-show-errors", big, "s3://"+bucket+"/big.bin")

	var head struct {
		ETag          string
		ContentLength int64
	}
	a.mustJSON(&head, "s3api", "head-object", "--bucket", bucket, "--key", "big.bin")
	if !strings.HasSuffix(strings.Trim(head.ETag, `"`), "-3") || head.ContentLength != 20<<20 {
		t.Errorf("big.bin: ETag %s, length %d; want a 3-part multipart ETag and %d bytes", head.ETag, head.ContentLength, 20<<20)
	}

	objs, prefixes := parseLs(a.must("s3", "ls", "s3://"+bucket+"/"))
	if objs["big.bin"] != fmt.Sprint(20<<20) || len(objs) != 1 || len(prefixes) != 1 || prefixes[0] != "dir/" {
		t.Errorf("s3 ls: objects %v, prefixes %v; want big.bin (%d bytes) and PRE dir/", objs, prefixes, 20<<20)
	}
	objs, _ = parseLs(a.must("s3", "ls", "--recursive", "s3://"+bucket))
	want := map[string]string{"big.bin": fmt.Sprint(20 << 20), "dir/small.txt": fmt.Sprint(len("hello from the aws cli\n"))}
	if fmt.Sprint(objs) != fmt.Sprint(want) {
		t.Errorf("s3 ls --recursive: %v, want %v", objs, want)
	}
	if !strings.Contains(a.must("s3", "ls"), " "+bucket) {
		t.Errorf("s3 ls does not list bucket %s", bucket)
	}

	a.must("s3", "cp", "--only-show-errors", "s3://"+bucket+"/big.bin", a.path("big.down"))
	a.must("s3", "cp", "--only-show-errors", "s3://"+bucket+"/dir/small.txt", a.path("small.down"))
	sameFile(t, big, a.path("big.down"))
	sameFile(t, small, a.path("small.down"))

	a.must("s3", "rm", "--only-show-errors", "s3://"+bucket+"/dir/small.txt")
	objs, _ = parseLs(a.must("s3", "ls", "--recursive", "s3://"+bucket))
	if _, ok := objs["dir/small.txt"]; ok || len(objs) != 1 {
		t.Errorf("after s3 rm: %v, want only big.bin", objs)
	}
	a.mustFail("BucketNotEmpty", "s3", "rb", "s3://"+bucket)
	a.must("s3", "rm", "--only-show-errors", "s3://"+bucket+"/big.bin")
	if out := a.must("s3", "rb", "s3://"+bucket); !strings.Contains(out, "remove_bucket: "+bucket) {
		t.Errorf("s3 rb printed %q", out)
	}
	if strings.Contains(a.must("s3", "ls"), " "+bucket) {
		t.Errorf("bucket %s still listed after s3 rb", bucket)
	}
	a.mustFail("404", "s3api", "head-bucket", "--bucket", bucket)
}

func testAWSCLIMultipart(t *testing.T, a *awsCLI) {
	const bucket, key = "awscli-mpu", "assembled/object.bin"
	part1, part2 := a.path("part1"), a.path("part2")
	writeRandomFile(t, part1, 5<<20, 2) // every part but the last is at least 5 MiB
	writeRandomFile(t, part2, 1<<20+123, 3)
	whole := a.path("whole")
	concat(t, whole, part1, part2)

	a.must("s3api", "create-bucket", "--bucket", bucket)
	var created struct{ Bucket, Key, UploadId string }
	a.mustJSON(&created, "s3api", "create-multipart-upload", "--bucket", bucket, "--key", key)
	if created.UploadId == "" || created.Key != key || created.Bucket != bucket {
		t.Fatalf("create-multipart-upload: %+v", created)
	}
	etags := make([]string, 2)
	for i, p := range []string{part1, part2} {
		var up struct{ ETag string }
		a.mustJSON(&up, "s3api", "upload-part", "--bucket", bucket, "--key", key, "--upload-id", created.UploadId,
			"--part-number", fmt.Sprint(i+1), "--body", p)
		if up.ETag == "" {
			t.Fatalf("upload-part %d returned no ETag", i+1)
		}
		etags[i] = up.ETag
	}

	var parts struct {
		Parts []struct {
			PartNumber int
			ETag       string
			Size       int64
		}
	}
	a.mustJSON(&parts, "s3api", "list-parts", "--bucket", bucket, "--key", key, "--upload-id", created.UploadId)
	if len(parts.Parts) != 2 {
		t.Fatalf("list-parts: %+v, want 2 parts", parts)
	}
	for i, p := range parts.Parts {
		wantSize := map[int]int64{0: 5 << 20, 1: 1<<20 + 123}[i]
		if p.PartNumber != i+1 || p.ETag != etags[i] || p.Size != wantSize {
			t.Errorf("list-parts part %d: %+v, want number %d, ETag %s, size %d", i, p, i+1, etags[i], wantSize)
		}
	}
	var uploads struct{ Uploads []struct{ UploadId string } }
	a.mustJSON(&uploads, "s3api", "list-multipart-uploads", "--no-paginate", "--bucket", bucket)
	if len(uploads.Uploads) != 1 || uploads.Uploads[0].UploadId != created.UploadId {
		t.Errorf("list-multipart-uploads: %+v, want the one upload", uploads)
	}

	doc := fmt.Sprintf(`{"Parts":[{"ETag":%q,"PartNumber":1},{"ETag":%q,"PartNumber":2}]}`, etags[0], etags[1])
	var done struct{ Bucket, Key, ETag string }
	a.mustJSON(&done, "s3api", "complete-multipart-upload", "--bucket", bucket, "--key", key,
		"--upload-id", created.UploadId, "--multipart-upload", doc)
	if done.Key != key || !strings.HasSuffix(strings.Trim(done.ETag, `"`), "-2") {
		t.Errorf("complete-multipart-upload: %+v, want key %s and a 2-part ETag", done, key)
	}
	var got struct {
		ContentLength int64
		ETag          string
	}
	a.mustJSON(&got, "s3api", "get-object", "--bucket", bucket, "--key", key, a.path("got"))
	if got.ETag != done.ETag || got.ContentLength != 6<<20+123 {
		t.Errorf("get-object: %+v, want ETag %s and %d bytes", got, done.ETag, 6<<20+123)
	}
	sameFile(t, whole, a.path("got"))
	uploads.Uploads = nil
	a.mustJSON(&uploads, "s3api", "list-multipart-uploads", "--no-paginate", "--bucket", bucket)
	if len(uploads.Uploads) != 0 {
		t.Errorf("list-multipart-uploads after complete: %+v, want none", uploads)
	}

	// An aborted upload is gone: its parts cannot be listed or added to.
	var aborted struct{ UploadId string }
	a.mustJSON(&aborted, "s3api", "create-multipart-upload", "--bucket", bucket, "--key", "aborted")
	a.must("s3api", "abort-multipart-upload", "--bucket", bucket, "--key", "aborted", "--upload-id", aborted.UploadId)
	a.mustFail("NoSuchUpload", "s3api", "upload-part", "--bucket", bucket, "--key", "aborted",
		"--upload-id", aborted.UploadId, "--part-number", "1", "--body", part2)
	a.mustFail("NoSuchUpload", "s3api", "list-parts", "--bucket", bucket, "--key", "aborted", "--upload-id", aborted.UploadId)
}

// concat writes the concatenation of files to dst.
func concat(t *testing.T, dst string, files ...string) {
	t.Helper()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, name := range files {
		in, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = out.ReadFrom(in)
		_ = in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// objectVersions is the part of list-object-versions the test reads.
type objectVersions struct {
	Versions []struct {
		Key, VersionId string
		IsLatest       bool
		Size           int64
	}
	DeleteMarkers []struct {
		Key, VersionId string
		IsLatest       bool
	}
}

func testAWSCLIVersioning(t *testing.T, a *awsCLI) {
	const bucket, key = "awscli-versions", "doc.txt"
	v1file, v2file := a.path("v1.txt"), a.path("v2.txt")
	writeFile(t, v1file, "first version\n")
	writeFile(t, v2file, "second, longer version\n")

	a.must("s3api", "create-bucket", "--bucket", bucket)
	a.must("s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
	var status struct{ Status string }
	a.mustJSON(&status, "s3api", "get-bucket-versioning", "--bucket", bucket)
	if status.Status != "Enabled" {
		t.Fatalf("get-bucket-versioning: %+v, want Enabled", status)
	}

	var put1, put2 struct{ VersionId, ETag string }
	a.mustJSON(&put1, "s3api", "put-object", "--bucket", bucket, "--key", key, "--body", v1file)
	a.mustJSON(&put2, "s3api", "put-object", "--bucket", bucket, "--key", key, "--body", v2file)
	if put1.VersionId == "" || put2.VersionId == "" || put1.VersionId == put2.VersionId {
		t.Fatalf("put-object version ids %q and %q: want two distinct ids", put1.VersionId, put2.VersionId)
	}

	var vs objectVersions
	a.mustJSON(&vs, "s3api", "list-object-versions", "--bucket", bucket)
	if len(vs.Versions) != 2 || len(vs.DeleteMarkers) != 0 {
		t.Fatalf("list-object-versions: %+v, want 2 versions", vs)
	}
	for _, v := range vs.Versions {
		if v.Key != key || v.IsLatest != (v.VersionId == put2.VersionId) {
			t.Errorf("version %+v: want key %s, latest only for %s", v, key, put2.VersionId)
		}
	}

	getVersion := func(versionID, wantFile string) {
		t.Helper()
		out := a.path("get-" + versionID)
		args := []string{"s3api", "get-object", "--bucket", bucket, "--key", key}
		if versionID != "" {
			args = append(args, "--version-id", versionID)
		}
		var got struct{ VersionId string }
		a.mustJSON(&got, append(args, out)...)
		if versionID != "" && got.VersionId != versionID {
			t.Errorf("get-object --version-id %s answered version %s", versionID, got.VersionId)
		}
		sameFile(t, wantFile, out)
	}
	getVersion(put1.VersionId, v1file)
	getVersion(put2.VersionId, v2file)
	getVersion("", v2file)

	var del struct {
		DeleteMarker bool
		VersionId    string
	}
	a.mustJSON(&del, "s3api", "delete-object", "--bucket", bucket, "--key", key)
	if !del.DeleteMarker || del.VersionId == "" {
		t.Fatalf("delete-object: %+v, want a delete marker with a version id", del)
	}
	a.mustFail("NoSuchKey", "s3api", "get-object", "--bucket", bucket, "--key", key, a.path("gone"))
	getVersion(put1.VersionId, v1file) // old versions survive the delete marker

	vs = objectVersions{}
	a.mustJSON(&vs, "s3api", "list-object-versions", "--bucket", bucket)
	if len(vs.Versions) != 2 || len(vs.DeleteMarkers) != 1 ||
		vs.DeleteMarkers[0].VersionId != del.VersionId || !vs.DeleteMarkers[0].IsLatest {
		t.Fatalf("list-object-versions after delete: %+v, want 2 versions and the latest delete marker %s", vs, del.VersionId)
	}

	// Deleting the delete marker by version id brings the second version back.
	a.must("s3api", "delete-object", "--bucket", bucket, "--key", key, "--version-id", del.VersionId)
	getVersion("", v2file)
}
