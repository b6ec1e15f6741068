package events

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// Binary content mode, shared by the NATS and HTTP bindings: every attribute
// but datacontenttype travels in a "ce-<name>" header, datacontenttype in
// "content-type", and the data is the body.
//
// Attribute values are percent-encoded as the CloudEvents HTTP binding
// requires (space, '"', '%' and every byte outside printable ASCII), so any
// UTF-8 value, an object key with a newline say, survives transports that
// trim or reject such bytes (nats.go trims values and replaces CR/LF).

const (
	// HeaderPrefix starts every attribute header in binary mode.
	HeaderPrefix = "ce-"
	// HeaderContentType carries datacontenttype in binary mode.
	HeaderContentType = "content-type"
)

// writeBinaryHeaders validates e and calls set for each header binary mode
// needs, with lower-case names. It returns an error wrapping ErrInvalidEvent
// (or ErrSpecVersion) when e cannot be sent.
func writeBinaryHeaders(e event.Event, set func(name, value string)) error {
	if err := checkSendable(e); err != nil {
		return err
	}
	set(HeaderPrefix+"specversion", SpecVersion)
	set(HeaderPrefix+"id", percentEncode(e.ID()))
	set(HeaderPrefix+"source", percentEncode(e.Source()))
	set(HeaderPrefix+"type", percentEncode(e.Type()))
	if s := e.Subject(); s != "" {
		set(HeaderPrefix+"subject", percentEncode(s))
	}
	if t := e.Time(); !t.IsZero() {
		set(HeaderPrefix+"time", types.FormatTime(t))
	}
	if s := e.DataSchema(); s != "" {
		set(HeaderPrefix+"dataschema", percentEncode(s))
	}
	if ct := e.DataContentType(); ct != "" {
		if !isPrintableASCII(ct) {
			return fmt.Errorf("%w: datacontenttype %q is not printable ASCII", ErrInvalidEvent, ct)
		}
		set(HeaderContentType, ct)
	}
	for name, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			return fmt.Errorf("%w: extension %s: %w", ErrInvalidEvent, name, err)
		}
		set(HeaderPrefix+strings.ToLower(name), percentEncode(s))
	}
	return nil
}

// readBinary decodes a binary-mode message. Header names match without regard
// to case; headers that are neither "ce-*" nor content-type are ignored. It
// never panics and returns errors wrapping ErrMalformed, plus
// ErrMissingAttribute or ErrSpecVersion where they apply.
func readBinary(h map[string][]string, body []byte) (event.Event, error) {
	ec := &event.EventContextV1{}
	var specversion string
	seen := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		lk := strings.ToLower(k)
		var name string
		switch {
		case lk == HeaderContentType:
			name = "datacontenttype"
		case strings.HasPrefix(lk, HeaderPrefix):
			name = lk[len(HeaderPrefix):]
		default:
			continue
		}
		if seen[name] {
			return event.Event{}, fmt.Errorf("%w: header %q repeats attribute %q", ErrMalformed, k, name)
		}
		seen[name] = true
		vs := h[k]
		if len(vs) != 1 {
			return event.Event{}, fmt.Errorf("%w: header %q has %d values, want 1", ErrMalformed, k, len(vs))
		}
		if name == "datacontenttype" {
			ct := strings.TrimSpace(vs[0])
			ec.DataContentType = &ct // validated below by e.Validate
			continue
		}
		v, err := percentDecode(vs[0])
		if err != nil {
			return event.Event{}, fmt.Errorf("%w: header %q: %w", ErrMalformed, k, err)
		}
		if err := setAttribute(ec, name, v, &specversion); err != nil {
			return event.Event{}, fmt.Errorf("%w: header %q: %w", ErrMalformed, k, err)
		}
	}
	switch {
	case specversion == "":
		return event.Event{}, fmt.Errorf("%w: %w: specversion", ErrMalformed, ErrMissingAttribute)
	case specversion != SpecVersion:
		return event.Event{}, fmt.Errorf("%w: %w: %q", ErrMalformed, ErrSpecVersion, specversion)
	}
	for _, a := range []struct{ name, value string }{{"id", ec.ID}, {"source", ec.Source.String()}, {"type", ec.Type}} {
		if strings.TrimSpace(a.value) == "" {
			return event.Event{}, fmt.Errorf("%w: %w: %s", ErrMalformed, ErrMissingAttribute, a.name)
		}
	}
	e := event.Event{Context: ec}
	if len(body) > 0 {
		e.DataEncoded = slices.Clone(body)
		if mt := e.DataMediaType(); (mt == "" || isJSONMediaType(mt)) && !json.Valid(body) {
			return event.Event{}, fmt.Errorf("%w: body is not valid JSON", ErrMalformed)
		}
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

// setAttribute stores one decoded attribute value in ec.
func setAttribute(ec *event.EventContextV1, name, v string, specversion *string) error {
	switch name {
	case "specversion":
		*specversion = v
	case "id":
		ec.ID = v
	case "type":
		ec.Type = v
	case "subject":
		ec.Subject = &v // empty or blank is rejected by e.Validate
	case "source":
		u, err := url.Parse(v)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		ec.Source = types.URIRef{URL: *u}
	case "dataschema":
		u, err := url.Parse(v)
		if err != nil {
			return fmt.Errorf("dataschema: %w", err)
		}
		ec.DataSchema = &types.URI{URL: *u}
	case "time":
		t, err := types.ParseTime(v)
		if err != nil {
			return fmt.Errorf("time: %w", err)
		}
		ec.Time = &types.Timestamp{Time: t}
	case "data", "datacontenttype":
		// "data" is reserved; datacontenttype travels as content-type.
		return fmt.Errorf("attribute %q is not allowed as a header", name)
	default:
		if err := ec.SetExtension(name, v); err != nil {
			return fmt.Errorf("extension: %w", err)
		}
	}
	return nil
}

const upperHex = "0123456789ABCDEF"

// percentEncode encodes the bytes the CloudEvents HTTP binding requires:
// space, '"', '%' and everything outside printable ASCII (0x21-0x7E).
func percentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsPercent(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsPercent(c) {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func needsPercent(c byte) bool { return c <= ' ' || c == '"' || c == '%' || c > '~' }

// percentDecode reverses percentEncode. It also accepts values that were not
// encoded (raw UTF-8 from lenient senders), but the result must be valid
// UTF-8 and every '%' must start a %XX escape.
func percentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		if !utf8.ValidString(s) {
			return "", fmt.Errorf("value is not valid UTF-8")
		}
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", fmt.Errorf("bad percent escape at offset %d", i)
		}
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("decoded value is not valid UTF-8")
	}
	return string(b), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
