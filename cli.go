package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/sluice-io/sluice/services/config"
)

// Exit codes of the sluice command.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// runCLI runs the sluice command with args (without the program name) and returns the
// process exit code. It never exits the process itself, so tests call it directly.
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "index":
		return cmdIndex(ctx, args[1:], stdout, stderr)
	case "events":
		return cmdEvents(ctx, args[1:], stdout, stderr)
	case "replication":
		return cmdReplication(ctx, args[1:], stdout, stderr)
	case "check-config":
		return cmdCheckConfig(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return exitOK
	case "-h", "-help", "--help", "help":
		printUsage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "sluice: unknown command %q\n", args[0])
		printUsage(stderr)
		return exitUsage
	}
}

// versionString names the build: the version set at link time, plus the Go version and
// the VCS revision when the binary carries them.
func versionString() string {
	v := "sluice " + version
	if bi, ok := debug.ReadBuildInfo(); ok {
		v += " " + bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v
}

// flagValues holds the command-line overrides shared by run and check-config. Flags win
// over the environment, which wins over the file.
type flagValues struct {
	configPath string
	dataDir    string
	httpListen string
	s3Listen   string
	natsURL    string
	logFormat  string
}

func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *flagValues) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	v := &flagValues{}
	fs.StringVar(&v.configPath, "config", "", "YAML configuration file (SLUICE_CONFIG)")
	fs.StringVar(&v.dataDir, "data-dir", "", "directory for local state (default ./data)")
	fs.StringVar(&v.httpListen, "http-listen", "", "health/metrics/admin listen address (default 127.0.0.1:9601)")
	fs.StringVar(&v.s3Listen, "s3-listen", "", "S3 endpoint listen address (default 127.0.0.1:9600)")
	fs.StringVar(&v.natsURL, "nats-url", "", "connect to this NATS (comma separated URLs) instead of embedding one")
	fs.StringVar(&v.logFormat, "log-format", "", "json or console")
	return fs, v
}

// load reads the configuration: defaults, the file, SLUICE_* variables, then flags.
func (v *flagValues) load(lookup config.LookupFunc) (*fileConfig, error) {
	path := v.configPath
	if path == "" {
		if p, ok := lookup("SLUICE_CONFIG"); ok {
			path = p
		}
	}
	cfg := &fileConfig{}
	if err := config.LoadFrom(path, cfg, func(name string) (string, bool) {
		if val, ok := v.override(name); ok {
			return val, true
		}
		return lookup(name)
	}); err != nil {
		return nil, err
	}
	return cfg, nil
}

// override maps a flag onto the environment variable it stands for, so flags go through
// the same parsing, finalizing and validation as every other source.
func (v *flagValues) override(name string) (string, bool) {
	m := map[string]string{
		"SLUICE_DATA_DIR":    v.dataDir,
		"SLUICE_HTTP_LISTEN": v.httpListen,
		"SLUICE_S3_LISTEN":   v.s3Listen,
		"SLUICE_NATS_URLS":   v.natsURL,
		"SLUICE_LOG_FORMAT":  v.logFormat,
	}
	val, ok := m[name]
	return val, ok && val != ""
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs, fv := newFlagSet("check-config", stderr)
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	cfg, err := fv.load(lookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: configuration is invalid: %v\n", err)
		return exitFailed
	}
	out, err := config.RedactedYAML(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, "# configuration is valid; effective values (secrets redacted):")
	_, _ = stdout.Write(out)
	return exitOK
}

func usageCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

func targetNames() string {
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return "all, " + strings.Join(names, ", ")
}
