package sqlstore

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// mapsDoc is the JSON document in versions.maps: a version's user
// metadata, tags and replication state, read back whole with the row (a
// search result, or a row Apply changes). The attrs table indexes the same
// values for queries.
//
// Version 1 indexes, migrated by SQL, have no RK: a destination without an
// order key takes the key of the replication field group.
type mapsDoc struct {
	M  map[string]string `json:"m,omitempty"`  // user metadata
	T  map[string]string `json:"t,omitempty"`  // tags
	R  map[string]string `json:"r,omitempty"`  // destination → status
	RK map[string]string `json:"rk,omitempty"` // destination → order key of the event that set it
	RB string            `json:"rb,omitempty"` // the object's own replication status
}

// encodeMaps writes the document of a row: "" when it holds nothing, else
// compact JSON with sorted keys (the same state always encodes the same).
// It is hand-written because Apply encodes one per changed row.
func encodeMaps(r *row) string {
	if len(r.meta) == 0 && len(r.tags) == 0 && len(r.dest) == 0 && r.base == "" {
		return ""
	}
	b := make([]byte, 0, 128)
	b = append(b, '{')
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	object := func(name string, m map[string]string) {
		if len(m) == 0 {
			return
		}
		field(name)
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(m)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, m[k])
		}
		b = append(b, '}')
	}
	object("m", r.meta)
	object("t", r.tags)
	if len(r.dest) > 0 {
		st := make(map[string]string, len(r.dest))
		keys := make(map[string]string, len(r.dest))
		for d, e := range r.dest {
			st[d], keys[d] = e.status, e.key
		}
		object("r", st)
		object("rk", keys)
	}
	if r.base != "" {
		field("rb")
		b = appendJSONString(b, r.base)
	}
	b = append(b, '}')
	return string(b)
}

// appendJSONString appends s as a JSON string. Indexed text is valid UTF-8
// (store.Event.Validate); an invalid byte would be written as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// decodeMaps reads a versions.maps document into r (meta, tags, base and
// destinations, whose keys default to the replication group's key).
func decodeMaps(s string, r *row) error {
	if s == "" {
		return nil
	}
	var d mapsDoc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return fmt.Errorf("version %d: maps: %w", r.id, err)
	}
	r.meta, r.tags, r.base = d.M, d.T, d.RB
	if len(d.R) > 0 {
		def := r.groupKey(gRepl)
		r.dest = make(map[string]destEntry, len(d.R))
		for name, st := range d.R {
			k, ok := d.RK[name]
			if !ok {
				k = def
			}
			r.dest[name] = destEntry{status: st, key: k}
		}
	}
	return nil
}

// recordMaps reads the maps a search result shows.
func recordMaps(s string) (meta, tags, repl map[string]string, err error) {
	if s == "" {
		return nil, nil, nil, nil
	}
	var d mapsDoc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, nil, nil, fmt.Errorf("maps: %w", err)
	}
	return d.M, d.T, d.R, nil
}
