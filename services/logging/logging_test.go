package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sluice-io/sluice/services/config"
)

func TestBuild(t *testing.T) {
	tests := []struct {
		name      string
		cfg       config.Log
		wantJSON  bool
		wantDebug bool
		contains  []string
	}{
		{name: "production default", cfg: config.Log{Level: "info", Format: "json"}, wantJSON: true},
		{name: "empty means info json", cfg: config.Log{}, wantJSON: true},
		{name: "console", cfg: config.Log{Level: "info", Format: "console"}, contains: []string{"info\t", "hello"}},
		{name: "development", cfg: config.Log{Level: "debug", Format: "json", Development: true}, wantDebug: true, contains: []string{"INFO", "hello"}},
		{name: "debug json", cfg: config.Log{Level: "debug", Format: "json"}, wantJSON: true, wantDebug: true},
		{name: "warn filters info", cfg: config.Log{Level: "warn"}, wantJSON: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, _, err := Build(tt.cfg, zapcore.AddSync(&buf))
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("dbg")
			log.Info("hello", zap.String("k", "v"))
			log.Warn("careful")
			out := buf.String()
			if got := strings.Contains(out, "dbg"); got != tt.wantDebug {
				t.Errorf("debug line present = %v, want %v:\n%s", got, tt.wantDebug, out)
			}
			if tt.cfg.Level == "warn" && strings.Contains(out, "hello") {
				t.Errorf("info line passed a warn level:\n%s", out)
			}
			if !strings.Contains(out, "careful") {
				t.Errorf("warn line missing:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var rec map[string]any
			isJSON := json.Unmarshal([]byte(lines[len(lines)-1]), &rec) == nil
			if isJSON != tt.wantJSON {
				t.Fatalf("JSON output = %v, want %v:\n%s", isJSON, tt.wantJSON, out)
			}
			if isJSON && (rec["level"] != "warn" || rec["msg"] != "careful" || rec["caller"] == nil || rec["ts"] == nil) {
				t.Errorf("unexpected record %v", rec)
			}
			for _, c := range tt.contains {
				if !strings.Contains(out, c) {
					t.Errorf("output lacks %q:\n%s", c, out)
				}
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	for _, cfg := range []config.Log{{Level: "loud"}, {Level: "info", Format: "xml"}} {
		if _, _, err := Build(cfg, zapcore.AddSync(&bytes.Buffer{})); !errors.Is(err, config.ErrInvalid) {
			t.Errorf("Build(%+v) err = %v, want ErrInvalid", cfg, err)
		}
		if _, err := New(cfg); !errors.Is(err, config.ErrInvalid) {
			t.Errorf("New(%+v) err = %v, want ErrInvalid", cfg, err)
		}
	}
}

func TestLevelCanChange(t *testing.T) {
	var buf bytes.Buffer
	log, level, err := Build(config.Log{Level: "info"}, zapcore.AddSync(&buf))
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("before")
	level.SetLevel(zap.DebugLevel)
	log.Debug("after")
	if strings.Contains(buf.String(), "before") || !strings.Contains(buf.String(), "after") {
		t.Fatalf("level change not applied:\n%s", buf.String())
	}
	if err := Sync(log); err != nil {
		t.Fatal(err)
	}
}
