package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// place and widget stand in for the per-service sections other modules add.
type place struct {
	Endpoint     string `yaml:"endpoint"`
	AccessSecret string `yaml:"access_secret"`
}

func (p *place) Validate() error {
	if p.Endpoint == "" {
		return Invalidf("endpoint is required")
	}
	return nil
}

type widget struct {
	Name     string           `yaml:"name"`
	Workers  int              `yaml:"workers"`
	Poll     time.Duration    `yaml:"poll"`
	APIToken string           `yaml:"api_token"`
	Places   map[string]place `yaml:"places"`
}

func (w *widget) SetDefaults() {
	w.Workers = 4
	w.Poll = time.Second
}

func (w *widget) Validate() error {
	if w.Workers < 1 {
		return Invalidf("workers must be at least 1")
	}
	return nil
}

// rootConfig is shaped like the root command's configuration.
type rootConfig struct {
	Common `yaml:",inline"`
	Widget widget `yaml:"widget"`
}

func env(vars map[string]string) LookupFunc {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func defaults() Common {
	return Common{
		DataDir: "./data",
		Log:     Log{Level: "info", Format: "json"},
		HTTP:    HTTP{Listen: "127.0.0.1:9601"},
		NATS: NATS{
			Embedded:       true,
			Listen:         "127.0.0.1:4222",
			ServerName:     "sluice",
			StoreDir:       filepath.Join("data", "nats"),
			Replicas:       1,
			ConnectTimeout: 5 * time.Second,
		},
	}
}

func testdata(name string) string {
	if name == "" {
		return ""
	}
	return filepath.Join("testdata", name)
}

func TestLoadCommon(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want func() Common
	}{
		{name: "defaults without a file", want: defaults},
		{name: "minimal file", file: "minimal.yaml", want: defaults},
		{
			name: "embedded file",
			file: "embedded.yaml",
			want: func() Common {
				c := defaults()
				c.DataDir = "/var/lib/sluice"
				c.Log = Log{Level: "debug", Format: "console"}
				c.HTTP.Listen = "0.0.0.0:9701"
				c.NATS.Listen = "127.0.0.1:4333"
				c.NATS.StoreDir = "/var/lib/sluice/nats"
				c.RootAccessKey = "sluiceadmin"
				c.RootSecretKey = "sluice-dev-secret"
				return c
			},
		},
		{
			name: "connect file",
			file: "connect.yaml",
			want: func() Common {
				c := defaults()
				c.DataDir = "./state"
				c.NATS.StoreDir = "state/nats"
				c.NATS.URLs = []string{"nats://n1.example.internal:4222", "tls://n2.example.internal:4222"}
				c.NATS.User = "sluice"
				c.NATS.Password = "hunter2-nats"
				c.NATS.TLS = TLS{CAFile: "/etc/sluice/ca.pem", CertFile: "/etc/sluice/client.pem", KeyFile: "/etc/sluice/client-key.pem"}
				c.NATS.Replicas = 3
				c.NATS.ConnectTimeout = 2 * time.Second
				return c
			},
		},
		{
			name: "environment overrides the file",
			file: "embedded.yaml",
			env: map[string]string{
				"SLUICE_DATA_DIR":             "/srv/sluice",
				"SLUICE_HTTP_LISTEN":          "127.0.0.1:19601",
				"SLUICE_LOG_DEVELOPMENT":      "true",
				"SLUICE_LOG_FORMAT":           "json",
				"SLUICE_NATS_URLS":            " nats://a:4222, ,nats://b:4222 ",
				"SLUICE_NATS_TOKEN":           "t0ken",
				"SLUICE_NATS_CONNECT_TIMEOUT": "750ms",
				"SLUICE_ROOT_ACCESS_KEY":      "envadmin",
				"SLUICE_ROOT_SECRET_KEY":      "env-secret-key",
				"SLUICE_UNRELATED":            "ignored",
			},
			want: func() Common {
				c := defaults()
				c.DataDir = "/srv/sluice"
				c.Log = Log{Level: "debug", Format: "json", Development: true}
				c.HTTP.Listen = "127.0.0.1:19601"
				c.NATS.Listen = "127.0.0.1:4333"
				c.NATS.StoreDir = "/srv/sluice/nats"
				c.NATS.URLs = []string{"nats://a:4222", "nats://b:4222"}
				c.NATS.Token = "t0ken"
				c.NATS.ConnectTimeout = 750 * time.Millisecond
				c.RootAccessKey = "envadmin"
				c.RootSecretKey = "env-secret-key"
				return c
			},
		},
		{
			name: "explicit store dir and an empty value clearing a list",
			file: "minimal.yaml",
			env: map[string]string{
				"SLUICE_NATS_STORE_DIR": "/fast/nats",
				"SLUICE_NATS_URLS":      "",
				"SLUICE_NATS_EMBEDDED":  "1",
			},
			want: func() Common {
				c := defaults()
				c.NATS.StoreDir = "/fast/nats"
				return c
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Common
			if err := LoadFrom(testdata(tt.file), &got, env(tt.env)); err != nil {
				t.Fatalf("LoadFrom: %v", err)
			}
			if want := tt.want(); !reflect.DeepEqual(got, want) {
				t.Fatalf("config mismatch\n got: %+v\nwant: %+v", got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		wantErr error
		want    []string
	}{
		{name: "missing file", file: "does-not-exist.yaml", wantErr: fs.ErrNotExist},
		{name: "unknown field", file: "unknown_field.yaml", wantErr: ErrSyntax, want: []string{"line 3", "embeded"}},
		{name: "wrong type", file: "wrong_type.yaml", wantErr: ErrSyntax, want: []string{"line 2", "time.Duration"}},
		{name: "two documents", file: "two_documents.yaml", wantErr: ErrSyntax, want: []string{"one YAML document"}},
		{
			name: "every problem is reported", file: "invalid.yaml", wantErr: ErrInvalid,
			want: []string{
				"data_dir must not be empty",
				`log: level "loud"`,
				`log: format "xml"`,
				`http: listen: ":9601" has no host`,
				"nats: set urls",
				"nats: replicas must be between 1 and 5",
				"nats: connect_timeout must be positive",
				"root_access_key and root_secret_key must be set together",
			},
		},
		{
			name: "embedded mode rules", file: "invalid_embedded.yaml", wantErr: ErrInvalid,
			want: []string{
				`nats: listen: "4222" is not host:port`,
				"nats: replicas must be 1 with the embedded single server",
				"nats: credentials and nkey_seed_file apply only when urls is set",
				"nats: tls applies only when urls is set",
				"nats.tls: cert_file and key_file must be set together",
			},
		},
		{
			name: "connect mode rules", env: map[string]string{
				"SLUICE_NATS_URLS":     "nats://ok:4222,http://secret-token@web:80,host-without-port",
				"SLUICE_NATS_TOKEN":    "tok",
				"SLUICE_NATS_PASSWORD": "pw",
			},
			wantErr: ErrInvalid,
			want: []string{
				`nats: urls: "http://REDACTED@web:80": scheme must be nats`,
				`nats: urls: "host-without-port" is not a URL or host:port`,
				"set only one of credentials, nkey_seed_file, user/password, token",
				"password is set without user",
			},
		},
		{name: "bad bool", env: map[string]string{"SLUICE_NATS_EMBEDDED": "maybe"}, wantErr: ErrSyntax, want: []string{`SLUICE_NATS_EMBEDDED="maybe"`}},
		{name: "bad duration", env: map[string]string{"SLUICE_NATS_CONNECT_TIMEOUT": "5"}, wantErr: ErrSyntax, want: []string{"SLUICE_NATS_CONNECT_TIMEOUT", "duration"}},
		{name: "bad int", env: map[string]string{"SLUICE_NATS_REPLICAS": "three"}, wantErr: ErrSyntax, want: []string{"SLUICE_NATS_REPLICAS", "integer"}},
		{name: "short root secret", env: map[string]string{"SLUICE_ROOT_ACCESS_KEY": "admin", "SLUICE_ROOT_SECRET_KEY": "short"}, wantErr: ErrInvalid, want: []string{"root_secret_key must be at least 8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Common
			err := LoadFrom(testdata(tt.file), &got, env(tt.env))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want one wrapping %v", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Errorf("error leaks a secret:\n%v", err)
			}
		})
	}
}

func TestLoadRejectsNonStruct(t *testing.T) {
	for _, into := range []any{nil, Common{}, new(int), (*Common)(nil)} {
		if err := LoadFrom("", into, env(nil)); err == nil {
			t.Errorf("LoadFrom(%T) succeeded", into)
		}
	}
}

func TestLoadServiceSections(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
		check   func(t *testing.T, c *rootConfig)
	}{
		{
			name:    "section validation is prefixed with its path",
			wantErr: []string{"widget.places.west: endpoint is required"},
		},
		{
			name: "environment reaches service sections, maps are skipped",
			env: map[string]string{
				"SLUICE_WIDGET_WORKERS":   "2",
				"SLUICE_WIDGET_API_TOKEN": "from-env",
				"SLUICE_NATS_LISTEN":      "127.0.0.1:0",
			},
			wantErr: []string{"widget.places.west: endpoint is required"},
		},
		{
			name:    "Common is validated once although its methods are promoted",
			env:     map[string]string{"SLUICE_DATA_DIR": "", "SLUICE_WIDGET_WORKERS": "0"},
			wantErr: []string{"data_dir must not be empty", "widget: workers must be at least 1", "nats: store_dir must not be empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c rootConfig
			err := LoadFrom(testdata("service.yaml"), &c, env(tt.env))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tt.wantErr {
				if n := strings.Count(err.Error(), w); n != 1 {
					t.Errorf("%q appears %d times in:\n%v", w, n, err)
				}
			}
		})
	}

	// A valid variant: fix the broken place, and check every layer landed.
	var c rootConfig
	err := LoadFrom(testdata("service.yaml"), &c, env(map[string]string{"SLUICE_WIDGET_WORKERS": "2"}))
	if err == nil {
		t.Fatal("want the west place to be rejected")
	}
	west := c.Widget.Places["west"]
	west.Endpoint = "https://west.example.com"
	c.Widget.Places["west"] = west
	if err := Validate(&c); err != nil {
		t.Fatalf("Validate after fix: %v", err)
	}
	if c.DataDir != "./svc" || c.HTTP.Listen != "127.0.0.1:9611" || c.NATS.StoreDir != filepath.Join("svc", "nats") {
		t.Errorf("common section not loaded: %+v", c.Common)
	}
	if c.Widget.Name != "gears" || c.Widget.Workers != 2 || c.Widget.Poll != 250*time.Millisecond || c.Widget.APIToken != "tok-123" {
		t.Errorf("widget section not loaded: %+v", c.Widget)
	}
}

func TestEnvVars(t *testing.T) {
	names := EnvVars(&rootConfig{})
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	for _, want := range []string{
		"SLUICE_DATA_DIR", "SLUICE_HTTP_LISTEN", "SLUICE_LOG_LEVEL", "SLUICE_NATS_URLS",
		"SLUICE_NATS_TLS_CA_FILE", "SLUICE_NATS_CONNECT_TIMEOUT", "SLUICE_ROOT_ACCESS_KEY",
		"SLUICE_ROOT_SECRET_KEY", "SLUICE_WIDGET_POLL", "SLUICE_WIDGET_API_TOKEN",
	} {
		if !has[want] {
			t.Errorf("EnvVars lacks %s", want)
		}
	}
	for _, n := range names {
		if strings.Contains(n, "PLACES") || strings.Contains(n, "COMMON") {
			t.Errorf("unexpected variable %s", n)
		}
	}
}

func TestRedacted(t *testing.T) {
	var conn Common
	err := LoadFrom(testdata("connect.yaml"), &conn, env(map[string]string{
		"SLUICE_ROOT_ACCESS_KEY": "rootadmin",
		"SLUICE_ROOT_SECRET_KEY": "root-secret-value",
		"SLUICE_NATS_URLS":       "nats://alice:url-password@n1:4222,nats://url-token@n2:4222",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var svc rootConfig
	if err := LoadFrom(testdata("service.yaml"), &svc, env(nil)); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		value   any
		want    []string
		notWant []string
	}{
		{
			name:    "common secrets and URL credentials",
			value:   &conn,
			want:    []string{"password: REDACTED", "root_secret_key: REDACTED", "root_access_key: rootadmin", "alice:xxxxx@n1", "REDACTED@n2", "connect_timeout: 2s", "user: sluice"},
			notWant: []string{"hunter2-nats", "root-secret-value", "url-password", "url-token"},
		},
		{
			name:    "service sections by key name, inside maps",
			value:   &svc,
			want:    []string{"api_token: REDACTED", "access_secret: REDACTED", "endpoint: https://east.example.com", "data_dir: ./svc"},
			notWant: []string{"tok-123", "s3cr3t-east", "common:"},
		},
		{
			name:  "empty secrets stay empty",
			value: Common{RootAccessKey: "a"},
			want:  []string{`root_secret_key: ""`, `password: ""`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := RedactedYAML(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(string(out), w) {
					t.Errorf("output contains %q:\n%s", w, out)
				}
			}
		})
	}
	if conn.NATS.Password != "hunter2-nats" || conn.RootSecretKey != "root-secret-value" {
		t.Error("Redacted modified the original")
	}
	if svc.Widget.Places["east"].AccessSecret != "s3cr3t-east" || svc.Widget.APIToken != "tok-123" {
		t.Error("Redacted modified the original's map or section")
	}
	if r, ok := Redacted(&conn).(*Common); !ok || r == &conn || r.NATS.Password != "REDACTED" {
		t.Errorf("Redacted(*Common) = %#v", Redacted(&conn))
	}
}

var listenCases = []struct {
	addr string
	ok   bool
}{
	{"127.0.0.1:9601", true},
	{"127.0.0.1:0", true},
	{"0.0.0.0:9601", true},
	{"[::1]:4222", true},
	{"[::]:4222", true},
	{"localhost:65535", true},
	{":9601", false},
	{"9601", false},
	{"", false},
	{"127.0.0.1", false},
	{"127.0.0.1:", false},
	{"127.0.0.1:65536", false},
	{"127.0.0.1:http", false},
	{"127.0.0.1:-1", false},
	{"[::1:4222", false},
}

func TestValidateListen(t *testing.T) {
	for _, tt := range listenCases {
		err := ValidateListen(tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateListen(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateListen(%q) error %v does not wrap ErrInvalid", tt.addr, err)
		}
	}
}

func FuzzValidateListen(f *testing.F) {
	for _, tt := range listenCases {
		f.Add(tt.addr)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		err := ValidateListen(addr)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(addr) == 0 || addr[0] == ':' {
			t.Fatalf("accepted %q without a host", addr)
		}
	})
}

// FuzzDecode feeds arbitrary YAML through the whole pipeline: it must never
// panic, and every error must wrap one of the documented sentinels.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "SLUICE_NATS_URLS", "nats://a:4222,b:4222")
	}
	f.Add([]byte("nats: {replicas: 9}"), "SLUICE_WIDGET_POLL", "1m30s")
	f.Add([]byte("widget: {places: {x: {endpoint: y}}}"), "SLUICE_NATS_EMBEDDED", "false")
	f.Fuzz(func(t *testing.T, data []byte, name, value string) {
		var c rootConfig
		eachSection(reflect.ValueOf(&c).Elem(), "", defaulterType, false, func(s any, _ string) error {
			s.(Defaulter).SetDefaults()
			return nil
		})
		if err := decodeYAML("fuzz.yaml", data, &c); err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("decode error %v does not wrap ErrSyntax", err)
			}
			return
		}
		for _, err := range applyEnv(reflect.ValueOf(&c).Elem(), env(map[string]string{name: value})) {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("env error %v does not wrap ErrSyntax", err)
			}
		}
		if err := Validate(&c); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("validate error %v does not wrap ErrInvalid", err)
		}
		if _, err := RedactedYAML(&c); err != nil {
			t.Fatalf("RedactedYAML: %v", err)
		}
	})
}

func BenchmarkLoadFrom(b *testing.B) {
	lookup := env(map[string]string{"SLUICE_NATS_URLS": "nats://a:4222,nats://b:4222", "SLUICE_LOG_LEVEL": "debug"})
	for b.Loop() {
		var c rootConfig
		if err := LoadFrom(testdata("service.yaml"), &c, lookup); !errors.Is(err, ErrInvalid) {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedactedYAML(b *testing.B) {
	var c rootConfig
	_ = LoadFrom(testdata("service.yaml"), &c, env(nil))
	for b.Loop() {
		if _, err := RedactedYAML(&c); err != nil {
			b.Fatal(err)
		}
	}
}
