// Package buildinfo says which build of orderguard is running: the module
// version, the commit and its time, read from the build information the Go
// toolchain stamps into every binary (runtime/debug.ReadBuildInfo; the vcs.*
// settings are there when the binary is built with -buildvcs=true inside a
// git clone). Go finds no repository in a linked git worktree (its .git is a
// file: golang/go#58218), and a reproducible image must not depend on it, so
// `make build` and `make image` also set the values with the linker (-X),
// computed by git; those win over the build info.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Info is one build's identity. Fields that the build did not record are
// "unknown" (Revision, Time) or "(devel)" (Version), never empty, so that a
// log line or a metric label always says something.
type Info struct {
	Version   string // module version: a tag such as v1.2.3, a pseudo-version, or (devel)
	Revision  string // the commit hash (vcs.revision)
	Time      string // the commit time, RFC 3339 in UTC (vcs.time)
	Modified  bool   // the checkout had uncommitted changes (vcs.modified)
	GoVersion string // the toolchain that built the binary
}

// Unknown stands for a field the build did not record.
const Unknown = "unknown"

// Set with -ldflags "-X github.com/orderguard/orderguard/internal/buildinfo.version=…";
// empty means "ask the build info". modified is "true" or "false".
var version, revision, commitTime, modified string

// Read returns the running binary's Info (read once).
var Read = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuildInfo(bi).linked(version, revision, commitTime, modified)
})

// linked overrides in with the values set by the linker, where set.
func (in Info) linked(version, revision, commitTime, modified string) Info {
	if version != "" {
		in.Version = version
	}
	if revision != "" {
		in.Revision = revision
	}
	if t, err := time.Parse(time.RFC3339, commitTime); err == nil {
		in.Time = t.UTC().Format(time.RFC3339)
	}
	if modified != "" {
		in.Modified = modified == "true"
	}
	return in
}

// FromBuildInfo extracts Info from Go's build information; nil gives the
// all-unknown Info.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: "(devel)", Revision: Unknown, Time: Unknown, GoVersion: Unknown}
	if bi == nil {
		return in
	}
	if bi.Main.Version != "" {
		in.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		in.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				in.Revision = s.Value
			}
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				in.Time = t.UTC().Format(time.RFC3339)
			}
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is the one-line form `orderguard version` prints.
func (in Info) String() string {
	dirty := ""
	if in.Modified {
		dirty = " (modified)"
	}
	return fmt.Sprintf("orderguard %s commit %s%s built %s %s", in.Version, in.Revision, dirty, in.Time, in.GoVersion)
}

// ModifiedLabel is vcs.modified as a label value: "true", "false".
func (in Info) ModifiedLabel() string {
	if in.Modified {
		return "true"
	}
	return "false"
}
