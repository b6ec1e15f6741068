package config

import "errors"

// ErrSyntax is wrapped by Load when the YAML file or an environment override
// cannot be parsed: malformed YAML, an unknown field, a value of the wrong
// type, or more than one YAML document.
var ErrSyntax = errors.New("config syntax error")

// ErrInvalid is wrapped by Load (and by ValidateListen) when the configuration
// parses but a Validate method reports a problem.
var ErrInvalid = errors.New("invalid configuration")
