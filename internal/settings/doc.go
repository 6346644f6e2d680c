// Package settings is the one loader of `orderguard serve`'s configuration.
// Each package that reads settings owns them: its Config holds the values,
// its Defaults fills them, its Settings method binds each field to a Setting
// (the flag name, which is also the YAML key and, as ORDERGUARD_ plus upper
// snake case, the environment variable) and its Check names the flag of a
// value that cannot work. cmd/proxy gathers every package's settings into
// Groups and calls Load once.
//
// One precedence rule, for every setting: the defaults, then the YAML file
// of --config (or $ORDERGUARD_CONFIG), then ORDERGUARD_* environment
// variables, then flags. The values print the way they parse (String), so
// --help and the generated table show defaults as they would be typed.
//
// This package must never hold a secret: secrets have no setting, only a
// file setting and an environment variable (internal/secret).
package settings
