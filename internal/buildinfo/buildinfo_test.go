package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	set := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want Info
		line string
	}{
		{"no build info", nil, Info{"(devel)", Unknown, Unknown, false, Unknown},
			"orderguard (devel) commit unknown built unknown unknown"},
		{"go run, no vcs", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			Info{"(devel)", Unknown, Unknown, false, "go1.26.8"},
			"orderguard (devel) commit unknown built unknown go1.26.8"},
		{"clean checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: set("vcs", "git", "vcs.revision", "20f316b0c0ffee", "vcs.time", "2026-12-06T18:00:00+01:00", "vcs.modified", "false")},
			Info{"v1.2.3", "20f316b0c0ffee", "2026-12-06T17:00:00Z", false, "go1.26.8"},
			"orderguard v1.2.3 commit 20f316b0c0ffee built 2026-12-06T17:00:00Z go1.26.8"},
		{"modified checkout, bad time", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206170000-20f316b0c0ff+dirty"},
			Settings: set("vcs.revision", "20f316b0c0ffee", "vcs.time", "yesterday", "vcs.modified", "true")},
			Info{"v0.0.0-20261206170000-20f316b0c0ff+dirty", "20f316b0c0ffee", Unknown, true, "go1.26.8"},
			"orderguard v0.0.0-20261206170000-20f316b0c0ff+dirty commit 20f316b0c0ffee (modified) built unknown go1.26.8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FromBuildInfo(tc.bi)
			if got != tc.want {
				t.Errorf("FromBuildInfo = %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.line {
				t.Errorf("String = %q, want %q", got.String(), tc.line)
			}
		})
	}
}

func TestLinked(t *testing.T) {
	fromVCS := Info{"v0.0.0-20261206170000-20f316b0c0ff", "20f316b0c0ffee", "2026-12-06T17:00:00Z", true, "go1.26.8"}
	for _, tc := range []struct {
		name                                 string
		version, revision, commitTime, dirty string
		want                                 Info
	}{
		{"nothing linked", "", "", "", "", fromVCS},
		{"all linked", "v1.0.0", "abc123", "2026-12-06T19:00:00+02:00", "false",
			Info{"v1.0.0", "abc123", "2026-12-06T17:00:00Z", false, "go1.26.8"}},
		{"a bad time is ignored", "", "", "noon", "", fromVCS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromVCS.linked(tc.version, tc.revision, tc.commitTime, tc.dirty); got != tc.want {
				t.Errorf("linked = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The test binary has build info of its own: Read must not fail on it.
func TestReadRunning(t *testing.T) {
	in := Read()
	if in.GoVersion == Unknown || in.Version == "" || in.Revision == "" {
		t.Errorf("Read() = %+v", in)
	}
}
