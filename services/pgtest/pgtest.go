// Package pgtest gives tests a fresh PostgreSQL database.
//
// StartPostgres returns the DSN of a new, empty database. When the environment
// variable SLUICE_TEST_PG_DSN is set, databases are created on that server.
// Otherwise pgtest runs a throwaway cluster from the PostgreSQL binaries on this
// machine (/usr/lib/postgresql/*/bin, or initdb on PATH) on 127.0.0.1 with an
// ephemeral port and a socket directory of its own; as root it runs them as the
// "postgres" system user, since initdb refuses root. If PostgreSQL is not
// available the test is skipped, unless SLUICE_REQUIRE_POSTGRES=1, in which case it
// fails.
//
// A package whose TestMain calls Main shares one cluster across all its tests
// (one database per test); without Main, each StartPostgres call runs its own
// cluster, stopped in t.Cleanup.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by StartPostgres.
const (
	EnvDSN     = "SLUICE_TEST_PG_DSN"      // use this server instead of a local cluster
	EnvRequire = "SLUICE_REQUIRE_POSTGRES" // "1": fail instead of skipping when unavailable
	EnvLog     = "SLUICE_TEST_PG_LOG"      // "1": copy the cluster's log to stderr
)

var (
	sharedMu      sync.Mutex
	sharedEnabled bool
	shared        *cluster
	sharedErr     error
	dbSeq         atomic.Int64
)

// Main runs the package's tests with one shared cluster and stops it afterwards.
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	sharedMu.Lock()
	sharedEnabled = true
	sharedMu.Unlock()
	code := m.Run()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.stop()
		shared = nil
	}
	return code
}

// StartPostgres returns the DSN (postgres:// URL) of a new, empty database that is
// dropped when the test ends.
func StartPostgres(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return createDatabase(t, dsn)
	}
	sharedMu.Lock()
	useShared := sharedEnabled
	sharedMu.Unlock()
	if !useShared {
		c, err := startCluster()
		if err != nil {
			unavailable(t, err)
		}
		t.Cleanup(c.stop)
		return createDatabase(t, c.adminDSN())
	}
	sharedMu.Lock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = startCluster()
	}
	c, err := shared, sharedErr
	sharedMu.Unlock()
	if err != nil {
		unavailable(t, err)
	}
	return createDatabase(t, c.adminDSN())
}

// errNotInstalled marks a machine without PostgreSQL binaries.
var errNotInstalled = errors.New("pgtest: PostgreSQL binaries not found (install the Debian package \"postgresql\" or set " + EnvDSN + ")")

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" || !errors.Is(err, errNotInstalled) {
		t.Fatalf("pgtest: PostgreSQL unavailable: %v", err)
	}
	t.Skipf("pgtest: skipping: %v", err)
}

// createDatabase creates a uniquely named database on the server at adminDSN and
// returns a DSN for it.
func createDatabase(t testing.TB, adminDSN string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatalf("pgtest: connect to admin database: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := fmt.Sprintf("sluice_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, dbSeq.Add(1))
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminDSN)
		if err != nil {
			return // the cluster is already gone
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(adminDSN)
	if err != nil || u.Scheme == "" {
		// A key=value DSN: append the database name (later keys win).
		return adminDSN + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

// cluster is a running throwaway PostgreSQL server.
type cluster struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

func (c *cluster) adminDSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// stop shuts the server down (fast mode) and removes its files.
func (c *cluster) stop() {
	c.once.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		_ = os.RemoveAll(c.dir)
	})
}

// binDir finds the directory holding initdb and postgres, newest version first.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errNotInstalled
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// startCluster initdbs a cluster in a new temporary directory and starts it.
func startCluster() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sluice-pgtest-")
	if err != nil {
		return nil, err
	}
	cred, err := credential(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		if err := chown(d, cred); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, tail(out))
	}
	// The port comes from the kernel; a race with another process taking it
	// between Close and the server's bind is retried.
	var lastErr error
	for range 5 {
		c, err := runServer(bin, dir, data, sock, cred)
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

func runServer(bin, dir, data, sock string, cred *syscall.Credential) (*cluster, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", sock, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if os.Getenv(EnvLog) == "1" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	// SIGQUIT (immediate shutdown) if the test binary dies without stopping us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &cluster{dir: dir, port: port, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.adminDSN())
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return c, nil
		}
		cancel()
		select {
		case <-c.done:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres exited during startup: %s", tail(out))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("postgres not ready after 60s: %w", err)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// credential returns the identity to run PostgreSQL as: nil (ourselves) unless we
// are root, then the "postgres" system user, who is given dir.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the \"postgres\" system user: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has non-numeric ids %q/%q", u.Uid, u.Gid)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	if err := chown(dir, cred); err != nil {
		return nil, err
	}
	return cred, nil
}

func chown(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return os.Chown(path, int(cred.Uid), int(cred.Gid))
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

// DSN is StartPostgres under the name other modules' tests use.
func DSN(t testing.TB) string {
	t.Helper()
	return StartPostgres(t)
}
