package config

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// redacted replaces every non-empty secret in Redacted output.
const redacted = "REDACTED"

// secretKeys are yaml keys treated as secrets even without a secret tag.
var secretKeys = map[string]bool{
	"password": true, "token": true, "secret": true, "secret_key": true,
	"root_secret_key": true, "secret_access_key": true, "session_token": true,
	"client_secret": true, "account_key": true, "sas_token": true,
}

// isSecret reports whether a field holds a secret: it is tagged
// `secret:"true"`, or its yaml key is a well-known secret name or ends in
// _password, _token, _secret or _secret_key.
func isSecret(f reflect.StructField, key string) bool {
	if f.Tag.Get("secret") == "true" {
		return true
	}
	if secretKeys[key] {
		return true
	}
	for _, suffix := range []string{"_password", "_token", "_secret", "_secret_key"} {
		if strings.HasSuffix(key, suffix) {
			return true
		}
	}
	return false
}

// Redacted returns a deep copy of v (typically a pointer to a configuration
// struct) in which every non-empty secret string is replaced by "REDACTED"
// and the user information of every URL is hidden. v is not modified.
func Redacted(v any) any {
	if v == nil {
		return nil
	}
	src := reflect.ValueOf(v)
	dst := reflect.New(src.Type()).Elem()
	redactCopy(dst, src, false)
	return dst.Interface()
}

// RedactedYAML renders v with Redacted as YAML, for printing the effective
// configuration (`sluice check-config`).
func RedactedYAML(v any) ([]byte, error) {
	out, err := yaml.Marshal(Redacted(v))
	if err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	return out, nil
}

func redactCopy(dst, src reflect.Value, secret bool) {
	switch src.Kind() {
	case reflect.String:
		s := src.String()
		switch {
		case secret && s != "":
			s = redacted
		case strings.Contains(s, "@"):
			s = redactURL(s)
		}
		dst.SetString(s)
	case reflect.Struct:
		dst.Set(src) // unexported fields as they are
		t := src.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			key, _, _ := fieldKey(f)
			redactCopy(dst.Field(i), src.Field(i), isSecret(f, key))
		}
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		redactCopy(p.Elem(), src.Elem(), secret)
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		out := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			redactCopy(out.Index(i), src.Index(i), secret)
		}
		dst.Set(out)
	case reflect.Array:
		for i := range src.Len() {
			redactCopy(dst.Index(i), src.Index(i), secret)
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		out := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			val := reflect.New(src.Type().Elem()).Elem()
			redactCopy(val, iter.Value(), secret)
			out.SetMapIndex(iter.Key(), val)
		}
		dst.Set(out)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		inner := reflect.New(src.Elem().Type()).Elem()
		redactCopy(inner, src.Elem(), secret)
		dst.Set(inner)
	default:
		dst.Set(src)
	}
}

// redactURL hides the user information of a URL ("scheme://..."): the
// password becomes "xxxxx", a lone user name (NATS accepts a token there)
// becomes "REDACTED". A URL-like string that does not parse is hidden
// entirely; other strings are returned unchanged.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		u.User = url.User(redacted)
	}
	return u.Redacted()
}
