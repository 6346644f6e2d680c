// Package secret holds credentials (the Forter API key, the inbound shared
// secret) so that they cannot be printed by accident, and reloads them from
// their file on SIGHUP so a key can be rotated without a restart.
//
// A secret comes from a file or an environment variable only, never from a
// command-line flag: flag values show up in ps, shell history and --help.
//
// This package must never put a secret's bytes, or the content of a key
// file, into a string it returns other than Value.Reveal: not in String,
// GoString, %v/%+v/%#v/%s/%q/%x, JSON, text marshalling, slog, or an error.
//
// Settings: Config says where each secret is read (--api-key-file,
// --inbound-secret-file, --admin-token-file, each else its Env* variable)
// and --secret-reload-interval.
package secret
