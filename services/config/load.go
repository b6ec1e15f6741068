package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment override.
const EnvPrefix = "SLUICE_"

// Defaulter is implemented by configuration sections that have defaults.
// Load calls SetDefaults on every section before reading the file, innermost
// sections first, so an enclosing section may override a nested default.
type Defaulter interface{ SetDefaults() }

// Finalizer is implemented by sections whose values derive from others (for
// example nats.store_dir from data_dir). Load calls Finalize after the file
// and the environment are applied, innermost sections first.
type Finalizer interface{ Finalize() }

// Validator is implemented by sections that can check themselves. Validate
// checks the section's own fields only: Load calls Validate on every nested
// section, map value and slice element that implements it, and prefixes each
// problem with the section's path (e.g. "nats.tls: ...").
type Validator interface{ Validate() error }

// The hooks are found by walking the struct. An embedded (anonymous) field
// whose enclosing struct also implements the hook is skipped for that hook,
// because Go promotes the method (so it already ran) or the enclosing struct
// shadows it on purpose; the embedded field's own sections are still walked.

// LookupFunc looks up one environment variable, like os.LookupEnv.
type LookupFunc func(name string) (string, bool)

// Load fills into, a non-nil pointer to a struct, in this order:
//
//  1. SetDefaults on every section implementing Defaulter;
//  2. the YAML file at path, if path is not empty: unknown fields, wrong
//     types and several documents are errors wrapping ErrSyntax that name
//     the line; a missing file is an error wrapping fs.ErrNotExist;
//  3. environment overrides from os.Environ (see LoadFrom);
//  4. Finalize on every section implementing Finalizer;
//  5. Validate on every section implementing Validator; all problems are
//     returned together, joined, in an error wrapping ErrInvalid.
func Load(path string, into any) error {
	return LoadFrom(path, into, os.LookupEnv)
}

// LoadFrom is Load with the environment read through lookup.
//
// Every leaf field of type string, bool, int*, uint*, float*, time.Duration
// or []string can be overridden by SLUICE_<PATH>, where PATH is the field's
// yaml path in upper case joined with '_' (inline structs add nothing):
// SLUICE_DATA_DIR, SLUICE_HTTP_LISTEN, SLUICE_NATS_TLS_CA_FILE. Slices are
// comma separated; an empty value sets the zero value. Maps, slices of
// structs and nil pointers are not reachable from the environment.
func LoadFrom(path string, into any, lookup LookupFunc) error {
	root, err := structPointer(into)
	if err != nil {
		return err
	}
	eachSection(root, "", defaulterType, false, func(s any, _ string) error {
		s.(Defaulter).SetDefaults()
		return nil
	})
	if path != "" {
		if err := decodeFile(path, into); err != nil {
			return err
		}
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if errs := applyEnv(root, lookup); len(errs) > 0 {
		return errors.Join(errs...)
	}
	eachSection(root, "", finalizerType, false, func(s any, _ string) error {
		s.(Finalizer).Finalize()
		return nil
	})
	return Validate(into)
}

// Validate calls Validate on every section of v (a pointer to a struct) that
// implements Validator and returns all problems joined, in an error wrapping
// ErrInvalid, or nil.
func Validate(v any) error {
	root, err := structPointer(v)
	if err != nil {
		return err
	}
	errs := eachSection(root, "", validatorType, false, func(s any, _ string) error {
		return s.(Validator).Validate()
	})
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n%w", ErrInvalid, errors.Join(errs...))
}

// EnvVars lists, sorted, the environment variable names that LoadFrom
// consults for v (a pointer to a struct).
func EnvVars(v any) []string {
	root, err := structPointer(v)
	if err != nil {
		return nil
	}
	var names []string
	eachLeaf(root, nil, func(name string, _ reflect.Value, _ bool) {
		names = append(names, name)
	})
	sort.Strings(names)
	return names
}

var (
	defaulterType = reflect.TypeFor[Defaulter]()
	finalizerType = reflect.TypeFor[Finalizer]()
	validatorType = reflect.TypeFor[Validator]()
	durationType  = reflect.TypeFor[time.Duration]()
)

func structPointer(v any) (reflect.Value, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("config: need a non-nil pointer to a struct, got %T", v)
	}
	return rv.Elem(), nil
}

func decodeFile(path string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return decodeYAML(path, data, into)
}

// decodeYAML decodes one YAML document from data over into, rejecting
// unknown fields; name appears in errors.
func decodeYAML(path string, data []byte, into any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: defaults and environment only
		}
		return fmt.Errorf("%w: %s: %w", ErrSyntax, path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: want one YAML document, found more", ErrSyntax, path)
	}
	return nil
}

// fieldKey returns the yaml key of an exported field, whether it is inlined,
// and whether it is skipped (yaml:"-").
func fieldKey(f reflect.StructField) (key string, inline, skip bool) {
	tag := f.Tag.Get("yaml")
	if tag == "-" {
		return "", false, true
	}
	name, opts, _ := strings.Cut(tag, ",")
	for _, o := range strings.Split(opts, ",") {
		if o == "inline" {
			inline = true
		}
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, inline, false
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// eachSection calls fn on every struct value reachable from v that
// implements iface, innermost first, and returns fn's errors prefixed with
// the section path. skipSelf skips v itself (see the note on the hooks).
func eachSection(v reflect.Value, path string, iface reflect.Type, skipSelf bool, fn func(section any, path string) error) []error {
	var errs []error
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			errs = eachSection(v.Elem(), path, iface, skipSelf, fn)
		}
	case reflect.Struct:
		section, ok := implementation(v, iface)
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			key, inline, skip := fieldKey(f)
			if skip {
				continue
			}
			child := path
			if !inline {
				child = joinPath(path, key)
			}
			errs = append(errs, eachSection(v.Field(i), child, iface, f.Anonymous && ok, fn)...)
		}
		if ok && !skipSelf {
			if err := fn(section, path); err != nil {
				errs = append(errs, prefix(path, err)...)
			}
		}
	case reflect.Map:
		if v.IsNil() || !reaches(v.Type().Elem()) {
			break
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			cp := reflect.New(v.Type().Elem()).Elem()
			cp.Set(v.MapIndex(k))
			errs = append(errs, eachSection(cp, joinPath(path, fmt.Sprint(k)), iface, false, fn)...)
			v.SetMapIndex(k, cp)
		}
	case reflect.Slice, reflect.Array:
		if !reaches(v.Type().Elem()) {
			break
		}
		for i := range v.Len() {
			errs = append(errs, eachSection(v.Index(i), fmt.Sprintf("%s[%d]", path, i), iface, false, fn)...)
		}
	}
	return errs
}

// reaches reports whether values of t can contain a struct section.
func reaches(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct
}

func implementation(v reflect.Value, iface reflect.Type) (any, bool) {
	if v.CanAddr() && v.Addr().Type().Implements(iface) {
		return v.Addr().Interface(), true
	}
	if v.Type().Implements(iface) && v.CanInterface() {
		return v.Interface(), true
	}
	return nil, false
}

// prefix names the section in each problem of err (one per joined error).
func prefix(path string, err error) []error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			list = append(list, prefix(path, e)...)
		}
		return list
	}
	if path == "" {
		return []error{err}
	}
	return []error{fmt.Errorf("%s: %w", path, err)}
}

// eachLeaf calls fn with the environment name of every leaf field the
// environment can set, and whether the field holds a secret.
func eachLeaf(v reflect.Value, segs []string, fn func(name string, field reflect.Value, secret bool)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, inline, skip := fieldKey(f)
		if skip {
			continue
		}
		fv := v.Field(i)
		path := segs
		if !inline {
			path = append(append([]string(nil), segs...), key)
		}
		switch {
		case fv.Kind() == reflect.Struct:
			eachLeaf(fv, path, fn)
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct:
			if !fv.IsNil() {
				eachLeaf(fv.Elem(), path, fn)
			}
		case settableFromEnv(fv.Type()):
			name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(strings.Join(path, "_"), "-", "_"))
			fn(name, fv, isSecret(f, key))
		}
	}
}

func settableFromEnv(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

func applyEnv(root reflect.Value, lookup LookupFunc) []error {
	var errs []error
	eachLeaf(root, nil, func(name string, fv reflect.Value, secret bool) {
		raw, ok := lookup(name)
		if !ok {
			return
		}
		if err := setFromString(fv, raw); err != nil {
			shown := strconv.Quote(raw)
			if secret {
				shown = redacted
			}
			errs = append(errs, fmt.Errorf("%w: %s=%s: %w", ErrSyntax, name, shown, err))
		}
	})
	return errs
}

// setFromString parses raw into fv; an empty raw sets the zero value.
func setFromString(fv reflect.Value, raw string) error {
	s := strings.TrimSpace(raw)
	if s == "" {
		fv.SetZero()
		return nil
	}
	switch {
	case fv.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("not a duration such as 5s or 1m30s")
		}
		fv.SetInt(int64(d))
		return nil
	case fv.Kind() == reflect.String:
		fv.SetString(raw)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("not a boolean (true or false)")
		}
		fv.SetBool(b)
	case fv.CanInt():
		n, err := strconv.ParseInt(s, 10, fv.Type().Bits())
		if err != nil {
			return fmt.Errorf("not an integer of %d bits", fv.Type().Bits())
		}
		fv.SetInt(n)
	case fv.CanUint():
		n, err := strconv.ParseUint(s, 10, fv.Type().Bits())
		if err != nil {
			return fmt.Errorf("not an unsigned integer of %d bits", fv.Type().Bits())
		}
		fv.SetUint(n)
	case fv.CanFloat():
		n, err := strconv.ParseFloat(s, fv.Type().Bits())
		if err != nil {
			return errors.New("not a number")
		}
		fv.SetFloat(n)
	case fv.Kind() == reflect.Slice:
		var items []string
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				items = append(items, part)
			}
		}
		out := reflect.MakeSlice(fv.Type(), len(items), len(items))
		for i, item := range items {
			out.Index(i).SetString(item)
		}
		fv.Set(out)
	}
	return nil
}
