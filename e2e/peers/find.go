package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kind names a server this package can start.
type Kind string

// The servers this package starts.
const (
	Sluice    Kind = "sluice"
	MinIO     Kind = "minio"
	VersityGW Kind = "versitygw"
)

// Kinds lists every Kind, Sluice first.
var Kinds = []Kind{Sluice, MinIO, VersityGW}

// ParseKind accepts a Kind's name and returns an error wrapping ErrUnknownKind otherwise.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == strings.ToLower(strings.TrimSpace(s)) {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: %q (want one of %v)", ErrUnknownKind, s, Kinds)
}

// binaryEnv is the environment variable that names each kind's binary.
var binaryEnv = map[Kind]string{
	Sluice:    "SLUICE_BIN",
	MinIO:     "SLUICE_MINIO_BIN",
	VersityGW: "SLUICE_VERSITYGW_BIN",
}

// BinaryEnv returns the environment variable Find consults first for kind
// (SLUICE_BIN, SLUICE_MINIO_BIN, SLUICE_VERSITYGW_BIN).
func BinaryEnv(kind Kind) string { return binaryEnv[kind] }

// Find returns the path of kind's binary: the file named by BinaryEnv(kind) when that is
// set (an error if it does not exist), else for MinIO and VersityGW the binary on PATH,
// else $HOME/go/bin/<name>. Sluice is not looked up on PATH, where a stale build could
// hide: without SLUICE_BIN, Start builds it from source. Find returns an error wrapping
// ErrBinaryNotFound when nothing is found, or ErrUnknownKind.
func Find(kind Kind) (string, error) {
	env, ok := binaryEnv[kind]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	if p := os.Getenv(env); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%w: $%s=%s is not an executable file", ErrBinaryNotFound, env, p)
	}
	if kind == Sluice {
		return "", fmt.Errorf("%w: $%s is not set (Start builds sluice from source)", ErrBinaryNotFound, env)
	}
	name := string(kind)
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, "go", "bin", name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s (set $%s, put it on PATH or go install it)", ErrBinaryNotFound, name, env)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// Found is one line of FindAll's report.
type Found struct {
	Kind Kind
	// Path is the binary, or for Sluice without SLUICE_BIN the source directory Start
	// builds from; empty when Err is set.
	Path string
	Err  error
}

// FindAll reports, for every Kind, whether Start can run it: the binary's path, or for
// Sluice the source tree it would build.
func FindAll() []Found {
	out := make([]Found, 0, len(Kinds))
	for _, k := range Kinds {
		p, err := Find(k)
		if k == Sluice && errors.Is(err, ErrBinaryNotFound) && os.Getenv(binaryEnv[k]) == "" {
			p, err = SluiceSourceDir()
		}
		out = append(out, Found{Kind: k, Path: p, Err: err})
	}
	return out
}

// sluiceModule is the root module's path.
const sluiceModule = "github.com/sluice-io/sluice"

// SluiceSourceDir returns the root of the Sluice source tree: $SLUICE_SOURCE_DIR when set,
// else the nearest directory at or above the working directory whose go.mod declares
// module github.com/sluice-io/sluice. It returns an error wrapping ErrBuild when there is
// none.
func SluiceSourceDir() (string, error) {
	if d := os.Getenv("SLUICE_SOURCE_DIR"); d != "" {
		if modulePath(filepath.Join(d, "go.mod")) != sluiceModule {
			return "", fmt.Errorf("%w: $SLUICE_SOURCE_DIR=%s has no go.mod for %s", ErrBuild, d, sluiceModule)
		}
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBuild, err)
	}
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == sluiceModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod for %s at or above the working directory", ErrBuild, sluiceModule)
		}
		dir = parent
	}
}

// modulePath returns the module path declared by a go.mod file, or "".
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// BuildSluice runs `go build -o outDir/sluice github.com/sluice-io/sluice` in srcDir (the
// workspace there decides the sibling modules) and returns the binary's path. The go
// command's output is included in the error, which wraps ErrBuild.
func BuildSluice(ctx context.Context, srcDir, outDir string) (string, error) {
	out := filepath.Join(outDir, "sluice")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, sluiceModule)
	cmd.Dir = srcDir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: go build %s in %s: %w\n%s", ErrBuild, sluiceModule, srcDir, err, b)
	}
	return out, nil
}
